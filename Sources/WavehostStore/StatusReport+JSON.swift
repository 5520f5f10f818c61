import WavehostJSON

extension StatusReport {
    /// The report as JSON, as `wavehost status --json` prints it and the dashboard's
    /// `/api/status` serves it: the same sections, times in Unix milliseconds.
    public var json: JSON {
        let report = self
        func number(_ value: Double?) -> JSON { value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
        func time(_ value: Int64?) -> JSON { value.map { .integer($0) } ?? .null }
        let runs = report.runs, calls = report.interactions, throughput = report.throughput
        return [
            "workflow": report.workflow.map { .string($0) } ?? .null,
            "workflows": .array(report.workflows.map { .string($0) }),
            "now": .integer(report.now),
            "runs": ["total": .integer(runs.total), "pending": .integer(runs.pending), "running": .integer(runs.running),
                     "completed": .integer(runs.completed), "failed": .integer(runs.failed), "through_every_step": .integer(runs.throughEveryStep)],
            "interactions": ["total": .integer(calls.total), "pending": .integer(calls.pending), "running": .integer(calls.running),
                             "completed": .integer(calls.completed), "failed": .integer(calls.failed), "timed_out": .integer(calls.timedOut)],
            "steps": .array(report.steps.map { step in [
                "workflow": .string(step.workflow), "name": .string(step.name),
                "interactions": .integer(step.interactions), "interactions_completed": .integer(step.interactionsCompleted),
                "runs": .integer(step.runs), "runs_completed": .integer(step.runsCompleted), "runs_skipped": .integer(step.runsSkipped),
                "p50_ms": number(step.p50Milliseconds), "p95_ms": number(step.p95Milliseconds),
            ] }),
            "actors": .array(report.actors.map { actor in [
                "name": .string(actor.name), "interactions": .integer(actor.interactions), "completed": .integer(actor.completed),
                "finished": .integer(actor.finished), "success_rate": number(actor.successRate),
                "sha256": .array(actor.sha256.map { .string($0) }),
            ] }),
            "recent_errors": .array(report.errors.map { error in [
                "source": .string(error.source.rawValue), "error": .string(error.message),
                "count": .integer(error.count), "latest_at": time(error.latestAt),
            ] }),
            "stale": [
                "interactions": .array(report.staleInteractions.map { call in [
                    "id": .integer(call.id), "run": .integer(call.runID), "step": .string(call.step),
                    "started_at": .integer(call.startedAt), "timeout_ms": .integer(call.timeoutMilliseconds),
                    "owner": call.owner.map { .string($0) } ?? .null,
                ] }),
                "runs": .array(report.staleRuns.map { run in [
                    "id": .integer(run.id), "subject": .string(run.subject),
                    "owner": run.owner.map { .string($0) } ?? .null, "lease_expires_at": .integer(run.leaseExpiresAt),
                ] }),
            ],
            "hosts": .array(report.hosts.map { host in [
                "id": .string(host.id), "hostname": .string(host.hostname), "pid": .integer(host.pid),
                "started_at": .integer(host.startedAt), "heartbeat_at": .integer(host.heartbeatAt), "stopped_at": time(host.stoppedAt),
                "leases": .integer(host.leases), "lapsed_leases": .integer(host.lapsedLeases),
            ] }),
            "tables": .array(report.tables.map { table in [
                "name": .string(table.name), "owner": .string(table.owner),
                "writers": .array(table.writers.map { .string($0) }), "readers": .array(table.readers.map { .string($0) }),
                "rows": .integer(table.rows), "written_last_hour": .integer(table.writtenLastHour),
                "written_total": .integer(table.writtenTotal), "last_written_at": time(table.lastWrittenAt),
            ] }),
            "throughput": [
                "last_minute_per_second": number(throughput.lastMinute), "overall_per_second": number(throughput.overall),
                "first_started_at": time(throughput.firstStartedAt), "last_completed_at": time(throughput.lastCompletedAt),
            ],
        ]
    }
}
