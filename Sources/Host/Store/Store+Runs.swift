import WavehostJSON

/// Workflows, actor versions, runs and their leases.
extension Store {
    /// Records `workflow` (its file's text is `source`) with its steps and variants, once
    /// per distinct text; returns the ids either way.
    public func registerWorkflow(_ workflow: WorkflowDefinition, source: String) throws(StoreError) -> StoredWorkflow {
        let sha256 = ContentHash.sha256(of: Array(source.utf8))
        return try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                if let id = try connection.query("SELECT id FROM workflows WHERE name = \(p(1)) AND sha256 = \(p(2))",
                                                 [.text(workflow.name), .text(sha256)]).first?.first?.integer {
                    return try stored(workflowID: id, workflow, connection)
                }
                let id = try connection.query("""
                    INSERT INTO workflows (name, environment, definition, sha256, created_at) \
                    VALUES (\(connection.placeholders(5))) RETURNING id
                    """, [.text(workflow.name), .text(workflow.environment.rawValue), .text(source), .text(sha256), .integer(Store.now())])
                guard let workflowID = id.first?.first?.integer else {
                    throw StoreError(.statementFailed, database: database, "inserting workflow \(workflow.name) returned no id")
                }
                for step in workflow.steps {
                    let stepID = try connection.query("""
                        INSERT INTO steps (workflow_id, name, depends_on, timeout_ms, retries) VALUES (\(connection.placeholders(5))) RETURNING id
                        """, [.integer(workflowID), .text(step.name), .text(JSON.array(step.after.map(JSON.string)).text),
                              .integer(Int64(step.timeoutMilliseconds)), .integer(Int64(step.retry.attempts - 1))]).first?.first?.integer ?? 0
                    for variant in step.variants {
                        try connection.query("""
                            INSERT INTO variants (step_id, actor, config, role, weight, mode, isolation) VALUES (\(connection.placeholders(7)))
                            """, [.integer(stepID), .text(variant.actor), .text(variant.config.text), .text(variant.role.rawValue),
                                  .integer(Int64(variant.weight)), .text(variant.mode.rawValue), .text(variant.isolation.rawValue)])
                    }
                }
                return try stored(workflowID: workflowID, workflow, connection)
            }
        }
    }

    private func stored(workflowID: Int64, _ workflow: WorkflowDefinition, _ connection: any SQLConnection) throws(StoreError) -> StoredWorkflow {
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

    /// Adds a pending run for each subject not yet in the workflow; returns how many were new.
    @discardableResult
    public func addSubjects(_ subjects: [Subject], workflowID: Int64) throws(StoreError) -> Int {
        guard !subjects.isEmpty else { return 0 }
        return try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let before = try countRuns(workflowID, connection)
                let now = Store.now()
                try connection.insertRows("INSERT INTO runs (workflow_id, subject, payload, status, created_at)", subjects.map {
                    [.integer(workflowID), .text($0.key), .text($0.payload.text), .text("pending"), .integer(now)]
                }, suffix: "ON CONFLICT (workflow_id, subject) DO NOTHING")
                return Int(try countRuns(workflowID, connection) - before)
            }
        }
    }

    private func countRuns(_ workflowID: Int64, _ connection: any SQLConnection) throws(StoreError) -> Int64 {
        try connection.query("SELECT COUNT(*) FROM runs WHERE workflow_id = \(connection.placeholder(1))", [.integer(workflowID)])
            .first?.first?.integer ?? 0
    }

    /// Takes the lease of up to `limit` unfinished runs that nobody live holds: never
    /// leased, lease expired, or held by an owner `isDead` says is gone. Interactions a
    /// dead owner left `running` are failed here, with an event naming the owner.
    public func claimRuns(workflowID: Int64, owner: String, limit: Int, lease: Duration,
                          isDead: (String) -> Bool) throws(StoreError) -> [ClaimedRun] {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                let now = Store.now()
                let owners = try connection.query("""
                    SELECT DISTINCT lease_owner FROM runs WHERE workflow_id = \(p(1)) AND status IN ('pending', 'running') \
                    AND lease_owner IS NOT NULL AND lease_owner <> \(p(2))
                    """, [.integer(workflowID), .text(owner)]).compactMap { $0[0].text }
                let dead = owners.filter(isDead)
                let deadList = dead.isEmpty ? "" : " OR lease_owner IN (\(connection.placeholders(dead.count, from: 6)))"
                let skipLocked = backend == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
                let rows = try connection.query("""
                    UPDATE runs SET lease_owner = \(p(1)), lease_expires_at = \(p(2)), status = 'running' WHERE id IN (
                        SELECT id FROM runs WHERE workflow_id = \(p(3)) AND status IN ('pending', 'running')
                        AND (lease_owner IS NULL OR lease_expires_at < \(p(4))\(deadList))
                        ORDER BY id LIMIT \(p(5))\(skipLocked))
                    RETURNING id, subject, payload
                    """, [.text(owner), .integer(now + lease.milliseconds), .integer(workflowID), .integer(now), .integer(Int64(limit))]
                        + dead.map { .text($0) })
                guard !rows.isEmpty else { return [] }
                var runs: [(id: Int64, subject: Subject)] = []
                for row in rows {
                    guard let id = row[0].integer, let key = row[1].text else { continue }
                    let payload = (try? JSON.parse(Array((row[2].text ?? "{}").utf8))) ?? [:]
                    runs.append((id, Subject(key: key, payload: payload)))
                }
                runs.sort { $0.id < $1.id }
                let history = try takeBack(runIDs: runs.map(\.id), owner: owner, now: now, connection)
                return runs.map { ClaimedRun(id: $0.id, subject: $0.subject, history: history[$0.id] ?? []) }
            }
        }
    }

    /// Reads the runs' interactions; fails those a previous owner left running.
    private func takeBack(runIDs: [Int64], owner: String, now: Int64,
                          _ connection: any SQLConnection) throws(StoreError) -> [Int64: [InteractionRecord]] {
        var history: [Int64: [InteractionRecord]] = [:]
        for chunk in stride(from: 0, to: runIDs.count, by: 500).map({ runIDs[$0..<min(runIDs.count, $0 + 500)] }) {
            let rows = try connection.query("""
                SELECT run_id, id, step_id, parent_id, status, attempt, output, error, lease_owner FROM interactions \
                WHERE run_id IN (\(connection.placeholders(chunk.count))) ORDER BY id
                """, chunk.map { .integer($0) })
            for row in rows {
                guard let runID = row[0].integer, let id = row[1].integer, let stepID = row[2].integer,
                      var status = row[4].text.flatMap(InteractionStatus.init(rawValue:)) else { continue }
                var error = row[7].text
                if !status.isFinal {
                    let previous = row[8].text ?? "an unknown host"
                    let reason = "taken back: host \(previous) stopped while this interaction ran"
                    let p = connection.placeholder
                    try connection.query("""
                        UPDATE interactions SET status = 'failed', error = \(p(1)), completed_at = \(p(2)) WHERE id = \(p(3))
                        """, [.text(reason), .integer(now), .integer(id)])
                    try insertEvents([EventRecord(kind: "interaction_taken_back", cause: reason, interactionID: id,
                                                  payload: JSON.object([("previous_owner", .string(previous)), ("new_owner", .string(owner))]).text)],
                                     now: now, connection)
                    status = .failed
                    error = reason
                }
                let output: [UInt8]? = if case .blob(let bytes) = row[6] { bytes } else { nil }
                history[runID, default: []].append(InteractionRecord(
                    id: id, stepID: stepID, parentID: row[3].integer, status: status,
                    attempt: Int(row[5].integer ?? 1), output: output, error: error))
            }
        }
        return history
    }

    /// Extends every lease `owner` holds on unfinished runs.
    public func renewLeases(owner: String, lease: Duration) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            try connection.query("UPDATE runs SET lease_expires_at = \(p(1)) WHERE lease_owner = \(p(2)) AND status IN ('pending', 'running')",
                                 [.integer(Store.now() + lease.milliseconds), .text(owner)])
        }
    }

    /// Hands back every lease `owner` holds on unfinished runs (a host that drained), so
    /// the next host claims them at once instead of when the leases expire.
    public func releaseLeases(owner: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            try connection.query("""
                UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = \(p(1)) AND status IN ('pending', 'running')
                """, [.text(owner)])
        }
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

    /// Rows an effect wrote to `table`, in the order they were first written.
    public func effectRows(table: String) throws(StoreError) -> [(key: String, row: JSON)] {
        try withConnection { connection throws(StoreError) in
            try connection.query("SELECT row_key, data FROM effect_rows WHERE table_name = \(connection.placeholder(1)) ORDER BY id",
                                 [.text(table)]).compactMap { row in
                guard let key = row[0].text, let data = row[1].text, let json = try? JSON.parse(Array(data.utf8)) else { return nil }
                return (key, json)
            }
        }
    }

    /// The row of `table` at `key`, if an effect wrote one.
    public func effectRow(table: String, key: String) throws(StoreError) -> JSON? {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            guard let data = try connection.query("SELECT data FROM effect_rows WHERE table_name = \(p(1)) AND row_key = \(p(2))",
                                                  [.text(table), .text(key)]).first?.first?.text else { return nil }
            return try? JSON.parse(Array(data.utf8))
        }
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension Store {
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
