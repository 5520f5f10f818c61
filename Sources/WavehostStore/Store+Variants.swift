import WavehostJSON

/// Variants as the store holds them: the workflow file's, plus changes made while it runs.
extension Store {
    public struct StoredVariant: Sendable, Equatable {
        public let id: Int64
        public let step: String
        public let actor: String
        public let config: JSON
        public let role: VariantRole
        public let weight: Int
        public let mode: VariantMode
        public let isolation: VariantIsolation
        /// Its sandbox limits object; nil for the defaults.
        public let limits: JSON?
        /// Its grants object, from the workflow file; nil for none.
        public let grants: JSON?
        public let retired: Bool
    }

    /// The columns ``variant(_:)`` reads, for a query joining `variants v` and `steps s`.
    private static let variantColumns = "v.id, s.name, v.actor, v.config, v.role, v.weight, v.mode, v.isolation, v.limits, v.retired_at, v.grants"

    /// Every variant of the workflow version `workflowID`, oldest first.
    public func variants(workflowID: Int64) throws(StoreError) -> [StoredVariant] {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                SELECT \(Self.variantColumns) FROM variants v \
                JOIN steps s ON s.id = v.step_id WHERE s.workflow_id = \(connection.placeholder(1)) ORDER BY v.id
                """, [.integer(workflowID)]).map { row throws(StoreError) in try variant(row) }
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
    public func changeVariant(_ id: Int64, weight: Int? = nil, mode: VariantMode? = nil, role: VariantRole? = nil, retire: Bool = false,
                              cause: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                guard let row = try connection.query("""
                    SELECT \(Self.variantColumns) FROM variants v JOIN steps s ON s.id = v.step_id WHERE v.id = \(p(1))
                    """, [.integer(id)]).first else {
                    throw StoreError(.statementFailed, database: database, "no variant \(id)")
                }
                let before = try variant(row)
                let (weight, mode, role) = (weight ?? before.weight, mode ?? before.mode, role ?? before.role)
                try connection.query("""
                    UPDATE variants SET weight = \(p(1)), mode = \(p(2)), role = \(p(3)), retired_at = \(p(4)) WHERE id = \(p(5))
                    """, [.integer(Int64(weight)), .text(mode.rawValue), .text(role.rawValue),
                          retire ? .integer(Store.now()) : .null, .integer(id)])
                try insertEvents([EventRecord(kind: "variant_changed", cause: cause, interactionID: nil, payload: JSON.object([
                    ("variant", .integer(id)), ("step", .string(before.step)),
                    ("before", ["weight": .integer(before.weight), "mode": .string(before.mode.rawValue), "role": .string(before.role.rawValue)]),
                    ("after", ["weight": .integer(weight), "mode": .string(mode.rawValue), "role": .string(role.rawValue),
                               "retired": .bool(retire)]),
                ]).text)], now: Store.now(), connection)
            }
        }
    }

    /// Adds `variant` to `step` of the newest version of `workflow`; returns its id.
    public func addVariant(workflow: String, step: String, _ variant: WorkflowRecord.Variant) throws(StoreError) -> Int64 {
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
                    INSERT INTO variants (step_id, actor, config, role, weight, mode, isolation, limits) \
                    VALUES (\(connection.placeholders(8))) RETURNING id
                    """, [.integer(stepID), .text(variant.actor), .text(variant.config.text), .text(variant.role.rawValue),
                          .integer(Int64(variant.weight)), .text(variant.mode.rawValue), .text(variant.isolation.rawValue),
                          variant.limits.map { .text($0.text) } ?? .null]).first?.first?.integer else {
                    throw StoreError(.statementFailed, database: database, "adding a variant returned no id")
                }
                try insertEvents([EventRecord(kind: "variant_added", cause: "wavehost variants add", interactionID: nil, payload: JSON.object([
                    ("variant", .integer(id)), ("step", .string(step)), ("actor", .string(variant.actor)), ("config", variant.config),
                    ("role", .string(variant.role.rawValue)), ("weight", .integer(variant.weight)), ("mode", .string(variant.mode.rawValue)),
                    ("isolation", .string(variant.isolation.rawValue)), ("limits", variant.limits ?? .null),
                ]).text)], now: Store.now(), connection)
                return id
            }
        }
    }

    /// Writes the grants of `workflow`'s variants (`WorkflowRecord.Variant.grants`) to the rows
    /// `stored` names, in one transaction: the file's word, recorded as it is registered (again
    /// for the same text: the same grants). `registerWorkflow`'s own insert does not write them.
    public func recordGrants(of workflow: WorkflowRecord, _ stored: StoredWorkflow) throws(StoreError) {
        let grants = workflow.steps.flatMap { step in
            zip(step.variants, stored.variantIDs[step.name] ?? []).compactMap { variant, id in variant.grants.map { (id, $0) } }
        }
        guard !grants.isEmpty else { return }
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                for (id, grant) in grants {
                    try connection.query("UPDATE variants SET grants = \(p(1)) WHERE id = \(p(2))", [.text(grant.text), .integer(id)])
                }
            }
        }
    }

    private func newestWorkflowID(_ name: String) throws(StoreError) -> Int64? {
        try withConnection { connection throws(StoreError) in
            try connection.query("SELECT MAX(id) FROM workflows WHERE name = \(connection.placeholder(1))", [.text(name)]).first?.first?.integer
        }
    }

    /// A row of ``variantColumns``, typed. A value no Wavehost writes (a row edited by hand,
    /// a column the CHECK constraints do not guard) is an error naming the variant, never a default.
    private func variant(_ row: [SQLValue]) throws(StoreError) -> StoredVariant {
        guard let id = row[0].integer, let step = row[1].text, let actor = row[2].text, let weight = row[5].integer else {
            throw StoreError(.statementFailed, database: database, "a variant row has a NULL id, step, actor or weight")
        }
        func bad(_ column: String, _ value: SQLValue, _ expected: String) -> StoreError {
            StoreError(.statementFailed, database: database,
                       "variant \(id) (\(step), \(actor)) has \(column) \(value.text.map { "\"\($0)\"" } ?? "NULL"), expected \(expected)")
        }
        func choice<Value: RawRepresentable & CaseIterable>(_ column: String, _ value: SQLValue) throws(StoreError) -> Value
        where Value.RawValue == String {
            guard let text = value.text, let parsed = Value(rawValue: text) else {
                throw bad(column, value, Value.allCases.map(\.rawValue).joined(separator: " or "))
            }
            return parsed
        }
        func json(_ column: String, _ value: SQLValue, object: Bool) throws(StoreError) -> JSON {
            // The parser's own message adds nothing to "expected JSON" for a stored value.
            guard let text = value.text, let parsed = try? JSON.parse(Array(text.utf8)), !object || parsed.objectValue != nil else {
                throw bad(column, value, object ? "a JSON object" : "JSON")
            }
            return parsed
        }
        return StoredVariant(id: id, step: step, actor: actor, config: try json("config", row[3], object: false), role: try choice("role", row[4]),
                             weight: Int(weight), mode: try choice("mode", row[6]), isolation: try choice("isolation", row[7]),
                             limits: row[8] == .null ? JSON?.none : try json("limits", row[8], object: true),
                             grants: row[10] == .null ? JSON?.none : try json("grants", row[10], object: true), retired: row[9] != .null)
    }
}
