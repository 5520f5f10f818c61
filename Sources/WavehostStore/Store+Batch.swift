import WavehostJSON

/// What a batch report reads: a workflow's steps, its live interactions and the rows its
/// effects wrote (newest version of the workflow, like `status`).
extension Store {
    public struct BatchRecords: Sendable {
        public struct Step: Sendable, Equatable {
            public let name: String
            public let after: [String]
        }

        public struct Interaction: Sendable {
            public let run: Int64
            public let step: String
            public let status: InteractionStatus
            public let attempt: Int
            public let error: String?
            /// Unix ms.
            public let startedAt: Int64?
            public let completedAt: Int64?
        }

        public let workflow: String
        public let steps: [Step]
        /// Live variants' interactions only (shadows feed nothing, so they are not the batch's).
        public let interactions: [Interaction]
        /// Per table (`namespace.name`), the rows this workflow's effects wrote, from the ledger.
        public let tables: [String: [JSON]]
    }

    /// The records of `workflow`'s batch, or nil when no such workflow was ever run.
    public func batchRecords(workflow: String) throws(StoreError) -> BatchRecords? {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            guard let id = try connection.query("SELECT MAX(id) FROM workflows WHERE name = \(p(1))", [.text(workflow)]).first?.first?.integer
            else { return nil }
            let steps = try connection.query("SELECT name, depends_on FROM steps WHERE workflow_id = \(p(1)) ORDER BY id", [.integer(id)])
                .compactMap { row -> BatchRecords.Step? in
                    guard let name = row[0].text else { return nil }
                    // Written by registerWorkflow from a JSON array; [] only for a row edited by hand.
                    let after = (try? JSON.parse(Array((row[1].text ?? "[]").utf8)))?.arrayValue?.compactMap(\.stringValue) ?? []
                    return BatchRecords.Step(name: name, after: after)
                }
            let interactions = try connection.query("""
                SELECT i.run_id, s.name, i.status, i.attempt, i.error, i.started_at, i.completed_at \
                FROM interactions i JOIN steps s ON s.id = i.step_id JOIN variants v ON v.id = i.variant_id \
                WHERE s.workflow_id = \(p(1)) AND v.mode = 'live' ORDER BY i.id
                """, [.integer(id)]).compactMap { row -> BatchRecords.Interaction? in
                guard let run = row[0].integer, let step = row[1].text, let status = row[2].text.flatMap(InteractionStatus.init)
                else { return nil }
                return BatchRecords.Interaction(run: run, step: step, status: status, attempt: Self.count(row[3]), error: row[4].text,
                                                startedAt: row[5].integer, completedAt: row[6].integer)
            }
            var tables: [String: [JSON]] = [:]
            for row in try connection.query("""
                SELECT e.table_name, e.data FROM effect_ledger e JOIN interactions i ON i.id = e.interaction_id \
                JOIN steps s ON s.id = i.step_id WHERE s.workflow_id = \(p(1)) AND e.operation <> 'delete' ORDER BY e.id
                """, [.integer(id)]) {
                // Ledger rows are written from parsed JSON; one that does not parse is left out of the report.
                guard let table = row[0].text, let data = row[1].text, let json = try? JSON.parse(Array(data.utf8)) else { continue }
                tables[table, default: []].append(json)
            }
            return BatchRecords(workflow: workflow, steps: steps, interactions: interactions, tables: tables)
        }
    }
}
