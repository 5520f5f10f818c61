import WavehostJSON

/// Actor versions as hot reload and pinning see them.
extension Store {
    /// One version of an actor the store has seen.
    public struct ActorVersion: Sendable {
        public let actor: String
        public let sha256: String
        public let version: String
        public let path: String
        /// `current`, `previous`, `pending` or `rejected`.
        public let state: String
        public let reason: String?
        public let seenAt: Int64
        public let approved: Bool
    }

    /// Approves `sha256` for production workflows that pin their actors.
    public func approve(_ sha256: String, note: String?) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            _ = try connection.query("""
                INSERT INTO approvals (sha256, note, approved_at) VALUES (\(connection.placeholders(3))) \
                ON CONFLICT (sha256) DO UPDATE SET note = excluded.note
                """, [.text(sha256), note.map(SQLValue.text) ?? .null, .integer(Store.now())])
        }
    }

    public func approvedHashes() throws(StoreError) -> Set<String> {
        try withConnection { connection throws(StoreError) in
            Set(try connection.query("SELECT sha256 FROM approvals").compactMap { $0.first?.text })
        }
    }

    /// Every version of every actor, newest first within each actor.
    public func actorVersions() throws(StoreError) -> [ActorVersion] {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                SELECT v.actor, v.sha256, v.version, v.path, v.state, v.reason, v.seen_at, a.sha256 FROM actor_versions v \
                LEFT JOIN approvals a ON a.sha256 = v.sha256 ORDER BY v.actor, v.seen_at DESC
                """).map { row in
                ActorVersion(actor: row[0].text ?? "", sha256: row[1].text ?? "", version: row[2].text ?? "", path: row[3].text ?? "",
                             state: row[4].text ?? "", reason: row[5].text, seenAt: row[6].integer ?? 0, approved: row[7] != .null)
            }
        }
    }
}

extension Store {
    /// One live variant's counts at a step: how many interactions ended, how many completed,
    /// and how long the completed ones took (Routing's `VariantRecord` is made from it).
    public struct VariantCounts: Sendable {
        public let variantID: Int64
        public let actor: String
        public let role: VariantRole
        public let weight: Int
        public let finished: Int
        public let completed: Int
        public let p50Milliseconds: Double?
        public let p95Milliseconds: Double?
    }

    /// Each live variant's counts at `step` of the newest version of `workflow`, counting
    /// interactions started at or after `since` (Unix ms; all by default).
    public func variantCounts(workflow: String, step: String, since: Int64 = 0) throws(StoreError) -> [VariantCounts] {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            let rows = try connection.query("""
                SELECT v.id, v.actor, v.role, v.weight, \
                COALESCE(SUM(CASE WHEN i.status IN ('completed', 'failed', 'timed_out') THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN i.status = 'completed' THEN 1 ELSE 0 END), 0) \
                FROM variants v JOIN steps s ON s.id = v.step_id \
                LEFT JOIN interactions i ON i.variant_id = v.id AND i.started_at >= \(p(3)) \
                WHERE s.name = \(p(1)) AND v.mode = 'live' AND s.workflow_id = \
                (SELECT MAX(id) FROM workflows WHERE name = \(p(2))) GROUP BY v.id, v.actor, v.role, v.weight ORDER BY v.id
                """, [.text(step), .text(workflow), .integer(since)])
            return try rows.map { row throws(StoreError) in
                let id = row[0].integer ?? 0
                guard let role = row[2].text.flatMap(VariantRole.init(rawValue:)) else {
                    let found = row[2].text.map { "\"\($0)\"" } ?? "NULL"
                    throw StoreError(.statementFailed, database: database,
                                     "variant \(id) (\(step), \(row[1].text ?? "?")) has role \(found), expected champion or challenger")
                }
                let latencies = try connection.query("""
                    SELECT latency_us FROM interactions WHERE variant_id = \(p(1)) AND status = 'completed' AND started_at >= \(p(2)) \
                    ORDER BY latency_us
                    """, [.integer(id), .integer(since)]).compactMap { $0[0].integer }
                func percentile(_ percent: Int) -> Double? {
                    guard !latencies.isEmpty else { return nil }
                    let rank = max(1, Int((Double(percent) / 100 * Double(latencies.count)).rounded(.up)))
                    return Double(latencies[rank - 1]) / 1000
                }
                return VariantCounts(variantID: id, actor: row[1].text ?? "", role: role, weight: Int(row[3].integer ?? 0),
                                     finished: Int(row[4].integer ?? 0), completed: Int(row[5].integer ?? 0),
                                     p50Milliseconds: percentile(50), p95Milliseconds: percentile(95))
            }
        }
    }
}

extension Store {
    /// Scores a grader step gave, by the live variant of `step` that served the same run:
    /// the number at `field` (a dotted path) in each completed output of `graderStep`.
    public func qualityScores(workflow: String, step: String, graderStep: String, field: [String],
                              since: Int64 = 0) throws(StoreError) -> [Int64: [Double]] {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            let rows = try connection.query("""
                SELECT i.variant_id, g.output FROM interactions i \
                JOIN steps s ON s.id = i.step_id AND s.name = \(p(1)) \
                JOIN variants v ON v.id = i.variant_id AND v.mode = 'live' \
                JOIN interactions g ON g.run_id = i.run_id AND g.status = 'completed' \
                JOIN steps sg ON sg.id = g.step_id AND sg.name = \(p(2)) \
                JOIN variants gv ON gv.id = g.variant_id AND gv.mode = 'live' \
                WHERE i.status = 'completed' AND i.started_at >= \(p(4)) AND s.workflow_id = (SELECT MAX(id) FROM workflows WHERE name = \(p(3)))
                """, [.text(step), .text(graderStep), .text(workflow), .integer(since)])
            var scores: [Int64: [Double]] = [:]
            for row in rows {
                // A completed interaction's output was checked to be JSON before it was stored.
                guard let variant = row[0].integer, case .blob(let bytes) = row[1], let output = try? JSON.parse(bytes) else { continue }
                var value: JSON? = output
                for key in field { value = value?[key] }
                if let score = value?.doubleValue { scores[variant, default: []].append(score) }
            }
            return scores
        }
    }
}
