import Foundation
import WavehostJSON

/// Run leases and the hosts that hold them. Every lease time is read and written on the
/// database's clock (``SQLConnection/now``), never a host's: hosts whose clocks differ
/// agree on when a lease lapses.
extension Store {
    /// The notification channel idle hosts listen on: runs were added or leases handed back.
    static let workChannel = "wavehost_work"

    /// Takes the lease of up to `limit` unfinished runs that nobody live holds: never
    /// leased, lease lapsed (by the database's clock), or held by an owner `isDead` says is
    /// gone. Runs `owner` already holds are not claimed again. Interactions a previous
    /// owner left `running` are failed here, with an event naming the owner.
    public func claimRuns(workflowID: Int64, owner: String, limit: Int, lease: Duration,
                          isDead: (String) -> Bool) throws(StoreError) -> [ClaimedRun] {
        guard limit > 0 else { return [] }
        return try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                let owners = try connection.query("""
                    SELECT DISTINCT lease_owner FROM runs WHERE workflow_id = \(p(1)) AND status IN ('pending', 'running') \
                    AND lease_owner IS NOT NULL AND lease_owner <> \(p(2))
                    """, [.integer(workflowID), .text(owner)]).compactMap { $0[0].text }
                let dead = owners.filter(isDead)
                let deadList = dead.isEmpty ? "" : " OR lease_owner IN (\(connection.placeholders(dead.count, from: 5)))"
                let skipLocked = backend == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
                let rows = try connection.query("""
                    UPDATE runs SET lease_owner = \(p(1)), lease_expires_at = \(connection.now) + \(p(2)), status = 'running' WHERE id IN (
                        SELECT id FROM runs WHERE workflow_id = \(p(3)) AND status IN ('pending', 'running')
                        AND (lease_owner IS NULL OR (lease_owner <> \(p(1)) AND (lease_expires_at < \(connection.now)\(deadList))))
                        ORDER BY id LIMIT \(p(4))\(skipLocked))
                    RETURNING id, subject, payload, occasion, trigger_data
                    """, [.text(owner), .integer(lease.milliseconds), .integer(workflowID), .integer(Int64(limit))] + dead.map { .text($0) })
                guard !rows.isEmpty else { return [] }
                var runs: [(id: Int64, subject: Subject)] = []
                for row in rows {
                    guard let id = row[0].integer, let key = row[1].text else { continue }
                    // Written by addSubjects from a JSON value, so it parses; {} only for a row edited by hand.
                    let payload = (try? JSON.parse(Array((row[2].text ?? "{}").utf8))) ?? [:]
                    // An occasion's trigger is JSON addSubjects wrote; a run with none has occasion ''.
                    let trigger = row[4].text.flatMap { try? JSON.parse(Array($0.utf8)) }
                    let occasion = trigger.map { RunOccasion(key: row[3].text ?? "", trigger: $0) }
                    runs.append((id, Subject(key: key, payload: payload, occasion: occasion)))
                }
                runs.sort { $0.id < $1.id }
                let history = try takeBack(runIDs: runs.map(\.id), owner: owner, now: Store.now(), connection)
                return runs.map { ClaimedRun(id: $0.id, subject: $0.subject, history: history[$0.id] ?? []) }
            }
        }
    }

    /// Reads the runs' interactions; fails those a previous owner left running.
    private func takeBack(runIDs: [Int64], owner: String, now: Int64,
                          _ connection: any SQLConnection) throws(StoreError) -> [Int64: [InteractionRecord]] {
        var history: [Int64: [InteractionRecord]] = [:]
        for chunk in stride(from: 0, to: runIDs.count, by: 500).map({ runIDs[$0..<min(runIDs.count, $0 + 500)] }) {
            // On PostgreSQL the range tells the planner how few rows can match: given the
            // list alone it scanned all of interactions (7 ms a claim at 100,000 of them).
            // SQLite probes the index for each listed run as it is.
            let range = backend == .postgres ? "run_id BETWEEN $1 AND $2 AND " : ""
            let first = backend == .postgres ? 3 : 1
            let bounds: [SQLValue] = backend == .postgres ? [.integer(chunk.min()!), .integer(chunk.max()!)] : []
            let rows = try connection.query("""
                SELECT run_id, id, step_id, parent_id, status, attempt, output, error, lease_owner FROM interactions \
                WHERE \(range)run_id IN (\(connection.placeholders(chunk.count, from: first))) ORDER BY id
                """, bounds + chunk.map { .integer($0) })
            for row in rows {
                guard let runID = row[0].integer, let id = row[1].integer, let stepID = row[2].integer,
                      var status = row[4].text.flatMap(InteractionStatus.init(rawValue:)) else { continue }
                var error = row[7].text
                if !status.isFinal {
                    let previous = row[8].text ?? "an unknown host"
                    let reason = InteractionRecord.takenBackPrefix
                        + "host \(previous) stopped while this interaction ran; retried without using an attempt"
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
                    attempt: Int(row[5].integer ?? 1), output: output, error: error, owner: row[8].text))
            }
        }
        return history
    }

    /// The host's heartbeat: records it alive (registering it on first use) and extends
    /// every lease it holds on unfinished runs of `workflowIDs` to the database's now + `lease`.
    public func heartbeat(owner: String, lease: Duration, workflowIDs: [Int64]) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                let parts = owner.split(separator: ":")
                let pid = parts.count == 3 ? Int64(parts[1]) ?? 0 : Int64(getpid())
                try connection.query("""
                    INSERT INTO hosts (id, hostname, pid, started_at, heartbeat_at) \
                    VALUES (\(p(1)), \(p(2)), \(p(3)), \(connection.now), \(connection.now)) \
                    ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, stopped_at = NULL
                    """, [.text(owner), .text(parts.first.map(String.init) ?? ProcessInfo.processInfo.hostName), .integer(pid)])
                guard !workflowIDs.isEmpty else { return }
                try connection.query("""
                    UPDATE runs SET lease_expires_at = \(connection.now) + \(p(1)) WHERE workflow_id IN (\(connection.placeholders(workflowIDs.count, from: 3))) \
                    AND status IN ('pending', 'running') AND lease_owner = \(p(2))
                    """, [.integer(lease.milliseconds), .text(owner)] + workflowIDs.map { .integer($0) })
            }
        }
    }

    /// Records that `owner` stopped (its leases are released separately, or lapse).
    public func hostStopped(owner: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            _ = try connection.query("UPDATE hosts SET stopped_at = \(connection.now), heartbeat_at = \(connection.now) WHERE id = \(connection.placeholder(1))",
                                 [.text(owner)])
        }
    }

    /// Hands back every lease `owner` holds on unfinished runs (a host that drained), so
    /// the next host claims them at once instead of when the leases expire; idle hosts are
    /// woken for them.
    public func releaseLeases(owner: String, workflowID: Int64) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                try connection.query("""
                    UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE workflow_id = \(p(2)) \
                    AND status IN ('pending', 'running') AND lease_owner = \(p(1))
                    """, [.text(owner), .integer(workflowID)])
                try notifyWork(connection)
            }
        }
    }

    /// Wakes hosts waiting in ``waitForWork(timeout:)`` (on PostgreSQL; SQLite has one host).
    public func notifyWork() throws(StoreError) {
        try withConnection { connection throws(StoreError) in try notifyWork(connection) }
    }

    func notifyWork(_ connection: any SQLConnection) throws(StoreError) {
        guard backend == .postgres else { return }
        try connection.execute("NOTIFY \(Store.workChannel)")
    }

    /// Unfinished runs of the workflow that other owners hold, and how long until the
    /// first of their leases lapses (zero when one already has), on the database's clock.
    public func othersLeases(workflowID: Int64, owner: String) throws(StoreError) -> (runs: Int, firstLapse: Duration?) {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            let row = try connection.query("""
                SELECT COUNT(*), MIN(lease_expires_at) - \(connection.now) FROM runs WHERE workflow_id = \(p(1)) \
                AND status IN ('pending', 'running') AND lease_owner IS NOT NULL AND lease_owner <> \(p(2))
                """, [.integer(workflowID), .text(owner)]).first ?? []
            let count = Int(row.first?.integer ?? 0)
            let lapse = row.count > 1 ? row[1].integer.map { Duration.milliseconds(max(0, $0)) } : nil
            return (count, lapse)
        }
    }
}
