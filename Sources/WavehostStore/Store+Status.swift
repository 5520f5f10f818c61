/// Where one workflow (all its versions), or every workflow, stands: the data behind
/// `wavehost status`. Times are Unix milliseconds, as the engine writes them.
public struct StatusReport: Sendable {
    public struct Runs: Sendable {
        public var total = 0, pending = 0, running = 0, completed = 0, failed = 0
        /// Completed runs that skipped no step: every step has a completed interaction.
        public var throughEveryStep = 0
    }

    public struct Interactions: Sendable {
        public var pending = 0, running = 0, completed = 0, failed = 0, timedOut = 0
        public var total: Int { pending + running + completed + failed + timedOut }
    }

    public struct Step: Sendable {
        public var workflow: String
        public var name: String
        public var interactions = 0
        public var interactionsCompleted = 0
        /// Runs with a completed interaction of this step, of the runs of workflow versions that have it.
        public var runsCompleted = 0
        public var runs = 0
        /// Completed runs without an interaction of this step: its condition did not hold.
        public var runsSkipped = 0
        /// Nearest-rank percentiles of completed interactions' latency; nil when none completed.
        public var p50Milliseconds: Double?
        public var p95Milliseconds: Double?
    }

    public struct Actor: Sendable {
        public var name: String
        public var interactions = 0
        public var completed = 0
        /// Completed, failed or timed out.
        public var finished = 0
        public var sha256: [String] = []
        public var successRate: Double? { finished > 0 ? Double(completed) / Double(finished) : nil }
    }

    public struct ErrorGroup: Sendable {
        public enum Source: String, Sendable { case interaction, run }
        public var source: Source
        public var message: String
        public var count: Int
        public var latestAt: Int64?
    }

    public struct StaleInteraction: Sendable {
        public var id: Int64
        public var runID: Int64
        public var step: String
        public var startedAt: Int64
        public var timeoutMilliseconds: Int64
        public var owner: String?
    }

    public struct StaleRun: Sendable {
        public var id: Int64
        public var subject: String
        public var owner: String?
        public var leaseExpiresAt: Int64
    }

    /// A host that shares the store: its heartbeat and the leases it holds (of the
    /// workflows the report covers). Times are on the database's clock.
    public struct Host: Sendable {
        public var id: String
        public var hostname: String
        public var pid: Int64
        public var startedAt: Int64
        public var heartbeatAt: Int64
        public var stoppedAt: Int64?
        /// Unfinished runs it holds the lease of, and how many of those leases lapsed.
        public var leases = 0
        public var lapsedLeases = 0
    }

    public struct Throughput: Sendable {
        /// Completed interactions per second over the last 60 s.
        public var lastMinute: Double = 0
        /// Completed interactions per second from the first start to the last completion
        /// (of finished interactions).
        public var overall: Double?
        public var firstStartedAt: Int64?
        public var lastCompletedAt: Int64?
    }

    /// A declared table: its rows, and the effects the ledger holds for it (each applied
    /// insert, upsert or delete is one entry). Times are Unix milliseconds.
    public struct Table: Sendable {
        /// `namespace.table`, as the ledger and the CLI name it.
        public var name: String
        /// The workflow that owns it, and every workflow that declared it writable (the owner first).
        public var owner: String
        public var writers: [String] = []
        public var readers: [String] = []
        public var rows = 0
        /// Ledger entries: in the hour before `now`, and in all.
        public var writtenLastHour = 0
        public var writtenTotal = 0
        public var lastWrittenAt: Int64?
    }

    /// The workflow asked for; nil for all.
    public var workflow: String?
    /// The workflow names the report covers.
    public var workflows: [String] = []
    public var now: Int64
    public var runs = Runs()
    public var interactions = Interactions()
    public var steps: [Step] = []
    public var actors: [Actor] = []
    /// Newest first, at most ten.
    public var errors: [ErrorGroup] = []
    public var staleInteractions: [StaleInteraction] = []
    public var staleRuns: [StaleRun] = []
    /// Hosts alive in the last hour, or holding leases, oldest first.
    public var hosts: [Host] = []
    public var throughput = Throughput()
    /// Declared tables the workflows use (read or write), by name.
    public var tables: [Table] = []
}

extension Store {
    /// Counts, latencies, errors and stale work of `workflow` (every version of it), or of
    /// every workflow when nil. Aggregates in SQL; only the latencies of completed
    /// interactions come back row by row, for the percentiles.
    public func status(workflow: String? = nil, now asked: Int64? = nil) throws(StoreError) -> StatusReport {
        try withConnection { connection throws(StoreError) in
            // The database's clock: leases and heartbeats are on it, whatever this host's says.
            var now = Store.now()
            if let asked { now = asked } else if let clock = try connection.query("SELECT \(connection.now)").first?.first?.integer { now = clock }
            var report = StatusReport(workflow: workflow, now: now)
            // Numbered (?1 or $1): the name binding is reused, and may come after the others in the text.
            let p = connection.placeholder
            let name: [SQLValue] = workflow.map { [.text($0)] } ?? []
            // Restricts a query to the workflow's ids; its binding is the first.
            let workflowIDs = workflow == nil ? "SELECT id FROM workflows" : "SELECT id FROM workflows WHERE name = \(p(1))"
            let stepIDs = "SELECT id FROM steps WHERE workflow_id IN (\(workflowIDs))"
            let next = name.count + 1  // the first placeholder after the name

            // Steps and variants, for names; runs by workflow version and status.
            var steps: [Int64: (workflowID: Int64, index: Int)] = [:]
            for row in try connection.query("""
                SELECT s.id, s.workflow_id, w.name, s.name FROM steps s JOIN workflows w ON w.id = s.workflow_id \
                WHERE s.workflow_id IN (\(workflowIDs)) ORDER BY s.id
                """, name) {
                guard let id = row[0].integer, let workflowID = row[1].integer, let workflowName = row[2].text,
                      let stepName = row[3].text else { continue }
                if !report.workflows.contains(workflowName) { report.workflows.append(workflowName) }
                // One entry per workflow and step name, across versions, in first-seen order.
                if let index = report.steps.firstIndex(where: { $0.workflow == workflowName && $0.name == stepName }) {
                    steps[id] = (workflowID, index)
                } else {
                    steps[id] = (workflowID, report.steps.count)
                    report.steps.append(StatusReport.Step(workflow: workflowName, name: stepName))
                }
            }
            var actorOfVariant: [Int64: String] = [:]
            for row in try connection.query("SELECT id, actor FROM variants WHERE step_id IN (\(stepIDs))", name) {
                if let id = row[0].integer, let actor = row[1].text { actorOfVariant[id] = actor }
            }
            var runsOfVersion: [Int64: Int] = [:]
            for row in try connection.query("""
                SELECT workflow_id, status, COUNT(*) FROM runs WHERE workflow_id IN (\(workflowIDs)) GROUP BY workflow_id, status
                """, name) {
                guard let workflowID = row[0].integer, let status = row[1].text else { continue }
                let count = Self.int(row[2])
                runsOfVersion[workflowID, default: 0] += count
                report.runs.total += count
                switch status {
                case "pending": report.runs.pending += count
                case "running": report.runs.running += count
                case "completed": report.runs.completed += count
                case "failed": report.runs.failed += count
                default: break
                }
            }
            var versionsOfStep: [Int: Set<Int64>] = [:]
            for (_, step) in steps { versionsOfStep[step.index, default: []].insert(step.workflowID) }
            for (index, versions) in versionsOfStep {
                report.steps[index].runs = versions.reduce(0) { $0 + (runsOfVersion[$1] ?? 0) }
            }

            // Interactions by step, variant, actor file and status: feeds three sections.
            var actors: [String: StatusReport.Actor] = [:]
            for row in try connection.query("""
                SELECT step_id, variant_id, actor_sha256, status, COUNT(*) FROM interactions \
                WHERE step_id IN (\(stepIDs)) GROUP BY step_id, variant_id, actor_sha256, status
                """, name) {
                guard let stepID = row[0].integer, let status = row[3].text.flatMap(InteractionStatus.init(rawValue:)) else { continue }
                let count = Self.int(row[4])
                switch status {
                case .pending: report.interactions.pending += count
                case .running: report.interactions.running += count
                case .completed: report.interactions.completed += count
                case .failed: report.interactions.failed += count
                case .timedOut: report.interactions.timedOut += count
                }
                if let index = steps[stepID]?.index {
                    report.steps[index].interactions += count
                    if status == .completed { report.steps[index].interactionsCompleted += count }
                }
                let actorName = row[1].integer.flatMap { actorOfVariant[$0] } ?? "(no variant)"
                var actor = actors[actorName] ?? StatusReport.Actor(name: actorName)
                actor.interactions += count
                if status == .completed { actor.completed += count }
                if status.isFinal { actor.finished += count }
                if let sha256 = row[2].text, !actor.sha256.contains(sha256) { actor.sha256.append(sha256) }
                actors[actorName] = actor
            }
            report.actors = actors.values.sorted { $0.interactions != $1.interactions ? $0.interactions > $1.interactions : $0.name < $1.name }
            for row in try connection.query("""
                SELECT step_id, COUNT(DISTINCT run_id) FROM interactions \
                WHERE status = 'completed' AND step_id IN (\(stepIDs)) GROUP BY step_id
                """, name) {
                if let stepID = row[0].integer, let index = steps[stepID]?.index { report.steps[index].runsCompleted += Self.int(row[1]) }
            }

            // A completed run never reached a step only if the step was skipped.
            for row in try connection.query("""
                SELECT s.id, COUNT(*) FROM steps s JOIN runs r ON r.workflow_id = s.workflow_id \
                WHERE s.workflow_id IN (\(workflowIDs)) AND r.status = 'completed' \
                AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.run_id = r.id AND i.step_id = s.id) GROUP BY s.id
                """, name) {
                if let stepID = row[0].integer, let index = steps[stepID]?.index { report.steps[index].runsSkipped += Self.int(row[1]) }
            }

            for row in try connection.query("""
                SELECT COUNT(*) FROM runs r WHERE r.workflow_id IN (\(workflowIDs)) AND r.status = 'completed' \
                AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.workflow_id = r.workflow_id \
                AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.run_id = r.id AND i.step_id = s.id AND i.status = 'completed'))
                """, name) {
                report.runs.throughEveryStep += Self.int(row[0])
            }

            // Latency percentiles, sorted by the database so Swift only picks ranks.
            var latencies: [Int: [Int64]] = [:]
            for row in try connection.query("""
                SELECT step_id, latency_us FROM interactions \
                WHERE status = 'completed' AND latency_us IS NOT NULL AND step_id IN (\(stepIDs)) ORDER BY latency_us
                """, name) {
                if let stepID = row[0].integer, let latency = row[1].integer, let index = steps[stepID]?.index {
                    latencies[index, default: []].append(latency)
                }
            }
            for (index, sorted) in latencies {
                report.steps[index].p50Milliseconds = Self.nearestRank(50, of: sorted).map { Double($0) / 1000 }
                report.steps[index].p95Milliseconds = Self.nearestRank(95, of: sorted).map { Double($0) / 1000 }
            }

            report.errors = try recentErrors(workflowIDs: workflowIDs, stepIDs: stepIDs, name: name, connection)

            // Stale work: calls past their step's timeout, and runs whose lease lapsed.
            report.staleInteractions = try connection.query("""
                SELECT i.id, i.run_id, s.name, i.started_at, s.timeout_ms, i.lease_owner FROM interactions i \
                JOIN steps s ON s.id = i.step_id WHERE i.status = 'running' AND i.started_at + s.timeout_ms < \(p(next)) \
                AND s.workflow_id IN (\(workflowIDs)) ORDER BY i.started_at, i.id
                """, name + [.integer(now)]).compactMap { row in
                guard let id = row[0].integer, let runID = row[1].integer, let step = row[2].text,
                      let started = row[3].integer, let timeout = row[4].integer else { return nil }
                return StatusReport.StaleInteraction(id: id, runID: runID, step: step, startedAt: started,
                                                     timeoutMilliseconds: timeout, owner: row[5].text)
            }
            report.staleRuns = try connection.query("""
                SELECT id, subject, lease_owner, lease_expires_at FROM runs WHERE status = 'running' \
                AND lease_expires_at < \(p(next)) AND workflow_id IN (\(workflowIDs)) ORDER BY lease_expires_at, id
                """, name + [.integer(now)]).compactMap { row in
                guard let id = row[0].integer, let subject = row[1].text, let expires = row[3].integer else { return nil }
                return StatusReport.StaleRun(id: id, subject: subject, owner: row[2].text, leaseExpiresAt: expires)
            }

            report.hosts = try hosts(workflowIDs: workflowIDs, name: name, now: now, connection)
            report.tables = try tables(workflow: workflow, now: now, connection)

            // Throughput: the last minute, and the span of the finished work (a call stuck
            // since yesterday would otherwise stretch it).
            let span = try connection.query("""
                SELECT MIN(CASE WHEN completed_at IS NOT NULL THEN started_at END), MAX(completed_at), \
                COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN status = 'completed' AND completed_at >= \(p(next)) THEN 1 ELSE 0 END), 0) \
                FROM interactions WHERE step_id IN (\(stepIDs))
                """, name + [.integer(now - 60_000)]).first ?? []
            if span.count == 4 {
                let (first, last, completed) = (span[0].integer, span[1].integer, Self.int(span[2]))
                report.throughput.firstStartedAt = first
                report.throughput.lastCompletedAt = last
                report.throughput.lastMinute = Double(Self.int(span[3])) / 60
                if let first, let last, last > first { report.throughput.overall = Double(completed) * 1000 / Double(last - first) }
            }
            return report
        }
    }

    /// Hosts seen in the last hour or holding leases of the workflows, with their leases.
    private func hosts(workflowIDs: String, name: [SQLValue], now: Int64,
                       _ connection: any SQLConnection) throws(StoreError) -> [StatusReport.Host] {
        var leases: [String: (held: Int, lapsed: Int)] = [:]
        let next = name.count + 1
        for row in try connection.query("""
            SELECT lease_owner, COUNT(*), COALESCE(SUM(CASE WHEN lease_expires_at < \(connection.placeholder(next)) THEN 1 ELSE 0 END), 0) \
            FROM runs WHERE status IN ('pending', 'running') AND lease_owner IS NOT NULL AND workflow_id IN (\(workflowIDs)) GROUP BY lease_owner
            """, name + [.integer(now)]) {
            if let owner = row[0].text { leases[owner] = (Self.int(row[1]), Self.int(row[2])) }
        }
        return try connection.query("""
            SELECT id, hostname, pid, started_at, heartbeat_at, stopped_at FROM hosts ORDER BY started_at, id
            """).compactMap { row in
            guard let id = row[0].text, let hostname = row[1].text, let started = row[3].integer, let beat = row[4].integer else { return nil }
            let held = leases[id] ?? (0, 0)
            guard held.held > 0 || beat >= now - 3_600_000 else { return nil }
            return StatusReport.Host(id: id, hostname: hostname, pid: row[2].integer ?? 0, startedAt: started, heartbeatAt: beat,
                                     stoppedAt: row[5].integer, leases: held.held, lapsedLeases: held.lapsed)
        }
    }

    /// Declared tables `workflow` uses (every one when nil): rows, and writes by the ledger.
    private func tables(workflow: String?, now: Int64, _ connection: any SQLConnection) throws(StoreError) -> [StatusReport.Table] {
        let p = connection.placeholder
        var users: [String: [(workflow: String, access: String)]] = [:]
        for row in try connection.query("SELECT table_name, workflow, access FROM table_users ORDER BY table_name, workflow") {
            if let table = row[0].text, let user = row[1].text, let access = row[2].text { users[table, default: []].append((user, access)) }
        }
        var written: [String: (hour: Int, total: Int, last: Int64?)] = [:]
        for row in try connection.query("""
            SELECT table_name, COALESCE(SUM(CASE WHEN written_at >= \(p(1)) THEN 1 ELSE 0 END), 0), COUNT(*), MAX(written_at) \
            FROM effect_ledger GROUP BY table_name
            """, [.integer(now - 3_600_000)]) {
            if let table = row[0].text { written[table] = (Self.int(row[1]), Self.int(row[2]), row[3].integer) }
        }
        var tables: [StatusReport.Table] = []
        for row in try connection.query("SELECT name FROM declared_tables ORDER BY name") {
            guard let name = row[0].text, let declared = try registered(name, connection) else { continue }
            let using = users[name] ?? []
            if let workflow, !using.contains(where: { $0.workflow == workflow }) { continue }
            var table = StatusReport.Table(name: name, owner: declared.owner)
            table.writers = [declared.owner] + using.filter { $0.access == TableDeclaration.Access.write.rawValue && $0.workflow != declared.owner }.map(\.workflow)
            table.readers = using.filter { $0.access == TableDeclaration.Access.read.rawValue }.map(\.workflow)
            let sql = TableSQL(schema: declared.schema, backend: backend)
            table.rows = Self.int(try connection.query("SELECT COUNT(*) FROM \(sql.table)").first?.first ?? .null)
            let writes = written[name] ?? (0, 0, nil)
            (table.writtenLastHour, table.writtenTotal, table.lastWrittenAt) = (writes.hour, writes.total, writes.last)
            tables.append(table)
        }
        return tables
    }

    /// Failed and timed-out interactions' errors, and failed runs', grouped by text: the
    /// ten most recent groups.
    private func recentErrors(workflowIDs: String, stepIDs: String, name: [SQLValue],
                              _ connection: any SQLConnection) throws(StoreError) -> [StatusReport.ErrorGroup] {
        var groups: [StatusReport.ErrorGroup] = []
        for (source, sql) in [
            (StatusReport.ErrorGroup.Source.interaction, """
                SELECT error, COUNT(*), MAX(completed_at) FROM interactions \
                WHERE status IN ('failed', 'timed_out') AND step_id IN (\(stepIDs)) GROUP BY error
                """),
            (.run, "SELECT error, COUNT(*), MAX(completed_at) FROM runs WHERE status = 'failed' AND workflow_id IN (\(workflowIDs)) GROUP BY error"),
        ] {
            for row in try connection.query(sql, name) {
                groups.append(StatusReport.ErrorGroup(source: source, message: row[0].text ?? "(no message)",
                                                      count: Self.int(row[1]), latestAt: row[2].integer))
            }
        }
        return Array(groups.sorted { ($0.latestAt ?? 0, $0.count) > ($1.latestAt ?? 0, $1.count) }.prefix(10))
    }

    /// The nearest-rank percentile of ascending `sorted`: the smallest value with at least
    /// `percent` % of the values at or below it.
    package static func nearestRank(_ percent: Int, of sorted: [Int64]) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let rank = (percent * sorted.count + 99) / 100  // ceil(percent / 100 × count)
        return sorted[max(rank, 1) - 1]
    }

    /// A count: PostgreSQL gives SUM over BIGINT as NUMERIC, which arrives as text.
    private static func int(_ value: SQLValue) -> Int {
        switch value {
        case .integer(let number): Int(number)
        case .text(let text): Int(text) ?? 0
        default: 0
        }
    }
}
