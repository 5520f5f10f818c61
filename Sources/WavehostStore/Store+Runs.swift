import WavehostHash
import WavehostJSON

/// Workflows, actor versions, runs and their leases.
extension Store {
    /// Records `workflow` (its file's text is `source`) with its steps and variants, once
    /// per distinct text; returns the ids either way.
    public func registerWorkflow(_ workflow: WorkflowRecord, source: String) throws(StoreError) -> StoredWorkflow {
        let sha256 = ContentHash.sha256(of: Array(source.utf8))
        return try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                // An upsert: a host that started at the same moment and inserted the same
                // text first wins, and this one reads its ids (its steps commit with it).
                let inserted = try connection.query("""
                    INSERT INTO workflows (name, environment, definition, sha256, created_at) \
                    VALUES (\(connection.placeholders(5))) ON CONFLICT (name, sha256) DO NOTHING RETURNING id
                    """, [.text(workflow.name), .text(workflow.environment), .text(source), .text(sha256), .integer(Store.now())])
                guard let workflowID = inserted.first?.first?.integer else {
                    let p = connection.placeholder
                    guard let id = try connection.query("SELECT id FROM workflows WHERE name = \(p(1)) AND sha256 = \(p(2))",
                                                        [.text(workflow.name), .text(sha256)]).first?.first?.integer else {
                        throw StoreError(.statementFailed, database: database, "workflow \(workflow.name) was neither inserted nor found")
                    }
                    let known = try stored(workflowID: id, workflow, connection)
                    try backfillLimits(known, workflow, connection)
                    return known
                }
                for step in workflow.steps {
                    let stepID = try connection.query("""
                        INSERT INTO steps (workflow_id, name, depends_on, timeout_ms, retries) VALUES (\(connection.placeholders(5))) RETURNING id
                        """, [.integer(workflowID), .text(step.name), .text(JSON.array(step.after.map(JSON.string)).text),
                              .integer(Int64(step.timeoutMilliseconds)), .integer(Int64(step.retries))]).first?.first?.integer ?? 0
                    for variant in step.variants {
                        try connection.query("""
                            INSERT INTO variants (step_id, actor, config, role, weight, mode, isolation, limits) \
                            VALUES (\(connection.placeholders(8)))
                            """, [.integer(stepID), .text(variant.actor), .text(variant.config.text), .text(variant.role.rawValue),
                                  .integer(Int64(variant.weight)), .text(variant.mode.rawValue), .text(variant.isolation.rawValue),
                                  variant.limits.map { .text($0.text) } ?? .null])
                    }
                }
                return try stored(workflowID: workflowID, workflow, connection)
            }
        }
    }

    /// A workflow registered before variants had a `limits` column (migration 8) has NULL
    /// there: its file's limits were matched at run time by actor and config. The file's
    /// variants are each step's first rows, in its order (later ones were added by
    /// `wavehost variants add`), so each gets its own limits back from the same text.
    private func backfillLimits(_ known: StoredWorkflow, _ workflow: WorkflowRecord, _ connection: any SQLConnection) throws(StoreError) {
        let p = connection.placeholder
        for step in workflow.steps {
            for (variant, id) in zip(step.variants, known.variantIDs[step.name] ?? []) {
                guard let limits = variant.limits else { continue }
                try connection.query("UPDATE variants SET limits = \(p(1)) WHERE id = \(p(2)) AND limits IS NULL",
                                     [.text(limits.text), .integer(id)])
            }
        }
    }

    private func stored(workflowID: Int64, _ workflow: WorkflowRecord, _ connection: any SQLConnection) throws(StoreError) -> StoredWorkflow {
        var stepIDs: [String: Int64] = [:]
        var variantIDs: [String: [Int64]] = [:]
        let rows = try connection.query("""
            SELECT s.name, s.id, v.id FROM steps s JOIN variants v ON v.step_id = s.id \
            WHERE s.workflow_id = \(connection.placeholder(1)) ORDER BY v.id
            """, [.integer(workflowID)])
        for row in rows {
            guard let name = row[0].text, let stepID = row[1].integer, let variantID = row[2].integer else { continue }
            stepIDs[name] = stepID
            variantIDs[name, default: []].append(variantID)
        }
        return StoredWorkflow(id: workflowID, stepIDs: stepIDs, variantIDs: variantIDs)
    }

    /// Records that actor `name` is now served by the file with `sha256`.
    public func registerActorVersion(name: String, kind: String, sha256: String, version: String, path: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                let now = Store.now()
                try connection.query("INSERT INTO actors (name, kind, created_at) VALUES (\(p(1)), \(p(2)), \(p(3))) ON CONFLICT (name) DO NOTHING",
                                     [.text(name), .text(kind), .integer(now)])
                try connection.query("UPDATE actor_versions SET state = 'previous' WHERE actor = \(p(1)) AND state = 'current' AND sha256 <> \(p(2))",
                                     [.text(name), .text(sha256)])
                try connection.query("""
                    INSERT INTO actor_versions (sha256, actor, version, path, state, seen_at) VALUES (\(connection.placeholders(6))) \
                    ON CONFLICT (sha256) DO UPDATE SET state = 'current', path = excluded.path, version = excluded.version, reason = NULL
                    """, [.text(sha256), .text(name), .text(version), .text(path), .text("current"), .integer(now)])
            }
        }
    }

    /// Adds a pending run for each subject (and occasion) not yet in the workflow; returns how many were new.
    @discardableResult
    public func addSubjects(_ subjects: [Subject], workflowID: Int64) throws(StoreError) -> Int {
        guard !subjects.isEmpty else { return 0 }
        return try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let before = try countRuns(workflowID, connection)
                let now = Store.now()
                try connection.insertRows("INSERT INTO runs (workflow_id, subject, payload, status, created_at, occasion, trigger_data)", subjects.map {
                    [.integer(workflowID), .text($0.key), .text($0.payload.text), .text("pending"), .integer(now),
                     .text($0.occasion?.key ?? ""), $0.occasion.map { .text($0.trigger.text) } ?? .null]
                }, suffix: "ON CONFLICT (workflow_id, subject, occasion) DO NOTHING")
                let added = Int(try countRuns(workflowID, connection) - before)
                if added > 0 { try notifyWork(connection) }  // idle hosts wake for the new runs
                return added
            }
        }
    }

    private func countRuns(_ workflowID: Int64, _ connection: any SQLConnection) throws(StoreError) -> Int64 {
        try connection.query("SELECT COUNT(*) FROM runs WHERE workflow_id = \(connection.placeholder(1))", [.integer(workflowID)])
            .first?.first?.integer ?? 0
    }

    /// Reserves `count` interaction ids for this host alone.
    public func reserveInteractionIDs(_ count: Int) throws(StoreError) -> Range<Int64> {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                guard let end = try connection.query("""
                    UPDATE id_blocks SET next_id = next_id + \(p(1)) WHERE name = 'interactions' RETURNING next_id
                    """, [.integer(Int64(count))]).first?.first?.integer else {
                    throw StoreError(.statementFailed, database: database, "id_blocks has no row for interactions")
                }
                return (end - Int64(count))..<end
            }
        }
    }
}

extension Duration {
    package var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension Store {
    /// Runs of a workflow `owner` finished (completed or failed): a finished run keeps the
    /// owner of its last lease.
    public func runsFinished(workflowID: Int64, by owner: String) throws(StoreError) -> Int {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            return Int(try connection.query("""
                SELECT COUNT(*) FROM runs WHERE workflow_id = \(p(1)) AND lease_owner = \(p(2)) AND status IN ('completed', 'failed')
                """, [.integer(workflowID), .text(owner)]).first?.first?.integer ?? 0)
        }
    }

    /// Runs of a workflow: all, completed, failed.
    public func runCounts(workflowID: Int64) throws(StoreError) -> (total: Int, completed: Int, failed: Int) {
        try withConnection { connection throws(StoreError) in
            let row = try connection.query("""
                SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) FROM runs WHERE workflow_id = \(connection.placeholder(1))
                """, [.integer(workflowID)]).first ?? []
            return (Int(row.first?.integer ?? 0), Int(row.dropFirst().first?.integer ?? 0), Int(row.last?.integer ?? 0))
        }
    }
}

extension Store {
    /// Appends events outside an engine run (a reload's swap or rejection).
    public func appendEvents(_ events: [EventRecord]) throws(StoreError) {
        try withConnection { connection throws(StoreError) in try insertEvents(events, now: Store.now(), connection) }
    }

    /// Records a version of `actor` that is being checked (`pending`) or was refused
    /// (`rejected`, with why); the current version is untouched.
    public func recordVersion(actor: String, sha256: String, path: String, state: String, reason: String? = nil) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                try connection.query("INSERT INTO actors (name, kind, created_at) VALUES (\(p(1)), 'unknown', \(p(2))) ON CONFLICT (name) DO NOTHING",
                                     [.text(actor), .integer(Store.now())])
                try connection.query("""
                    INSERT INTO actor_versions (sha256, actor, version, path, state, reason, seen_at) VALUES (\(connection.placeholders(7))) \
                    ON CONFLICT (sha256) DO UPDATE SET state = excluded.state, reason = excluded.reason
                    """, [.text(sha256), .text(actor), .text("unknown"), .text(path), .text(state), reason.map(SQLValue.text) ?? .null,
                          .integer(Store.now())])
            }
        }
    }
}
