import WavehostJSON

/// Variants as the store holds them: the workflow file's, plus changes made while it runs.
extension Store {
    public struct StoredVariant: Sendable, Equatable {
        public let id: Int64
        public let step: String
        public let actor: String
        public let config: String
        public let role: String
        public let weight: Int
        public let mode: String
        public let isolation: String
        public let retired: Bool
    }

    /// Every variant of the workflow version `workflowID`, oldest first.
    public func variants(workflowID: Int64) throws(StoreError) -> [StoredVariant] {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                SELECT v.id, s.name, v.actor, v.config, v.role, v.weight, v.mode, v.isolation, v.retired_at FROM variants v \
                JOIN steps s ON s.id = v.step_id WHERE s.workflow_id = \(connection.placeholder(1)) ORDER BY v.id
                """, [.integer(workflowID)]).map(Self.variant)
        }
    }

    /// The variants of `step` in the newest version of `workflow`.
    public func variants(workflow: String, step: String? = nil) throws(StoreError) -> [StoredVariant] {
        guard let id = try newestWorkflowID(workflow) else {
            throw StoreError(.statementFailed, database: database, "no workflow named \(workflow) has run on this store")
        }
        return try variants(workflowID: id).filter { step == nil || $0.step == step }
    }

    /// Changes a variant's weight, mode or retires it; recorded as an event with before and after.
    public func changeVariant(_ id: Int64, weight: Int? = nil, mode: String? = nil, role: String? = nil, retire: Bool = false,
                              cause: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                guard let before = try connection.query("""
                    SELECT v.id, s.name, v.actor, v.config, v.role, v.weight, v.mode, v.isolation, v.retired_at FROM variants v \
                    JOIN steps s ON s.id = v.step_id WHERE v.id = \(p(1))
                    """, [.integer(id)]).first.map(Self.variant) else {
                    throw StoreError(.statementFailed, database: database, "no variant \(id)")
                }
                try connection.query("""
                    UPDATE variants SET weight = \(p(1)), mode = \(p(2)), role = \(p(3)), retired_at = \(p(4)) WHERE id = \(p(5))
                    """, [.integer(Int64(weight ?? before.weight)), .text(mode ?? before.mode), .text(role ?? before.role),
                          retire ? .integer(Store.now()) : .null, .integer(id)])
                try insertEvents([EventRecord(kind: "variant_changed", cause: cause, interactionID: nil, payload: JSON.object([
                    ("variant", .integer(id)), ("step", .string(before.step)),
                    ("before", ["weight": .integer(before.weight), "mode": .string(before.mode), "role": .string(before.role)]),
                    ("after", ["weight": .integer(weight ?? before.weight), "mode": .string(mode ?? before.mode),
                               "role": .string(role ?? before.role), "retired": .bool(retire)]),
                ]).text)], now: Store.now(), connection)
            }
        }
    }

    /// Adds a variant to `step` of the newest version of `workflow`; returns its id.
    public func addVariant(workflow: String, step: String, actor: String, config: JSON, role: String, weight: Int, mode: String,
                           isolation: String) throws(StoreError) -> Int64 {
        guard let workflowID = try newestWorkflowID(workflow) else {
            throw StoreError(.statementFailed, database: database, "no workflow named \(workflow) has run on this store")
        }
        return try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                guard let stepID = try connection.query("SELECT id FROM steps WHERE workflow_id = \(p(1)) AND name = \(p(2))",
                                                        [.integer(workflowID), .text(step)]).first?.first?.integer else {
                    throw StoreError(.statementFailed, database: database, "workflow \(workflow) has no step \(step)")
                }
                guard let id = try connection.query("""
                    INSERT INTO variants (step_id, actor, config, role, weight, mode, isolation) VALUES (\(connection.placeholders(7))) RETURNING id
                    """, [.integer(stepID), .text(actor), .text(config.text), .text(role), .integer(Int64(weight)), .text(mode),
                          .text(isolation)]).first?.first?.integer else {
                    throw StoreError(.statementFailed, database: database, "adding a variant returned no id")
                }
                try insertEvents([EventRecord(kind: "variant_added", cause: "wavehost variants add", interactionID: nil, payload: JSON.object([
                    ("variant", .integer(id)), ("step", .string(step)), ("actor", .string(actor)), ("config", config),
                    ("role", .string(role)), ("weight", .integer(weight)), ("mode", .string(mode)),
                ]).text)], now: Store.now(), connection)
                return id
            }
        }
    }

    private func newestWorkflowID(_ name: String) throws(StoreError) -> Int64? {
        try withConnection { connection throws(StoreError) in
            try connection.query("SELECT MAX(id) FROM workflows WHERE name = \(connection.placeholder(1))", [.text(name)]).first?.first?.integer
        }
    }

    private static func variant(_ row: [SQLValue]) -> StoredVariant {
        StoredVariant(id: row[0].integer ?? 0, step: row[1].text ?? "", actor: row[2].text ?? "", config: row[3].text ?? "{}",
                      role: row[4].text ?? "champion", weight: Int(row[5].integer ?? 0), mode: row[6].text ?? "live",
                      isolation: row[7].text ?? "process", retired: row[8] != .null)
    }
}
