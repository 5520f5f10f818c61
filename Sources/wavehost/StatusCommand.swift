import ArgumentParser
import Foundation
import WavehostEngine
import WavehostJSON
import WavehostStore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where workflows stand: runs, interactions, steps, actors, errors, stale work, hosts, tables, throughput.",
        discussion: """
            Reads the store only. Exit status: 0, 2 for an unknown --workflow, 6 when the \
            database is missing or cannot be reached.
            """
    )

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    @Option(help: "One workflow (all its versions); all workflows when omitted.")
    var workflow: String?

    @Flag(help: "Print the same data as JSON.")
    var json = false

    func run() throws {
        let location = Store.defaultLocation(database)
        let isPostgres = location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
        // Opening a SQLite path creates the file: a typo would show an empty, healthy store.
        guard isPostgres || FileManager.default.fileExists(atPath: location) else {
            printError("error: no database at \(location): give --database, or set WAVEHOST_DATABASE_URL, "
                       + "or run `wavehost run` here first")
            throw ExitStatus.storeError
        }
        let report: StatusReport
        do {
            let store = try Store(location: location)
            store.reconnectFor = .seconds(5)  // a dashboard should fail fast, not wait two minutes
            report = try store.status(workflow: workflow)
        } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        if let workflow, report.workflows.isEmpty {
            printError("error: \(location) has no workflow named \(workflow)")
            throw ExitStatus.badInput
        }
        if json {
            print(report.json.prettyText)
        } else {
            printDashboard(report)
        }
    }
}

/// The dashboard as aligned text on stdout; `wavehost run` shows it after a run too.
func printDashboard(_ report: StatusReport) {
    let title = report.workflow.map { "workflow \($0)" }
        ?? (report.workflows.isEmpty ? "all workflows: none yet" : "all workflows: \(report.workflows.joined(separator: ", "))")
    print("Status of \(title)")
    let runs = report.runs
    section("Runs", [["total \(runs.total)", "completed \(runs.completed)", "failed \(runs.failed)",
                      "running \(runs.running)", "pending \(runs.pending)", "through every step \(runs.throughEveryStep)"]])
    let calls = report.interactions
    section("Interactions", [["total \(calls.total)", "completed \(calls.completed)", "failed \(calls.failed)",
                              "timed out \(calls.timedOut)", "running \(calls.running)", "pending \(calls.pending)"]])
    let qualify = report.workflows.count > 1
    section("Steps", [["step", "completed/interactions", "runs done/runs", "skipped", "p50", "p95"]] + report.steps.map { step in
        [qualify ? "\(step.workflow)/\(step.name)" : step.name, "\(step.interactionsCompleted)/\(step.interactions)",
         "\(step.runsCompleted)/\(step.runs)", "\(step.runsSkipped)",
         milliseconds(step.p50Milliseconds), milliseconds(step.p95Milliseconds)]
    }, empty: report.steps.isEmpty)
    section("Actors", [["actor", "interactions", "success", "sha256"]] + report.actors.map { actor in
        [actor.name, "\(actor.interactions)", actor.successRate.map { String(format: "%.1f%%", $0 * 100) } ?? "-",
         actor.sha256.map { String($0.prefix(12)) }.joined(separator: " ")]
    }, empty: report.actors.isEmpty)
    section("Recent errors", [["count", "latest", "of", "error"]] + report.errors.map { error in
        let message = error.message.replacingOccurrences(of: "\n", with: " ")
        return ["\(error.count)", ago(error.latestAt, report.now), error.source.rawValue,
                message.count > 120 ? String(message.prefix(119)) + "…" : message]
    }, empty: report.errors.isEmpty)
    // Stale runs grouped by the host whose lease lapsed: a dead host's runs wait for a claim.
    let owners = Dictionary(grouping: report.staleRuns) { $0.owner ?? "(no owner)" }.sorted { $0.key < $1.key }
    section("Stale work", report.staleInteractions.map { call in
        ["interaction \(call.id)", "run \(call.runID), step \(call.step)", "started \(ago(call.startedAt, report.now))",
         "timeout \(span(call.timeoutMilliseconds))", "owner \(call.owner ?? "-")"]
    }, empty: report.staleInteractions.isEmpty && report.staleRuns.isEmpty)
    table(owners.map { entry in
        let (owner, stale) = (entry.key, entry.value)
        return ["\(stale.count) run\(stale.count == 1 ? "" : "s")", "lease expired \(ago(stale.map(\.leaseExpiresAt).max(), report.now))",
                "owner \(owner)", "e.g. run \(stale[0].id) (\(stale[0].subject))"]
    })
    // Hosts sharing the store: a host whose heartbeat stopped loses its leases within one lease.
    section("Hosts", [["host", "pid", "started", "last heartbeat", "leases", "lapsed"]] + report.hosts.map { host in
        [host.id, "\(host.pid)", ago(host.startedAt, report.now),
         host.stoppedAt == nil ? ago(host.heartbeatAt, report.now) : "stopped \(ago(host.stoppedAt, report.now))",
         "\(host.leases)", "\(host.lapsedLeases)"]
    }, empty: report.hosts.isEmpty)
    // Declared tables: rows now, and the effects the ledger recorded (one entry per write).
    section("Tables", [["table", "rows", "written last hour", "written", "last write", "written by", "read by"]] + report.tables.map { table in
        [table.name, "\(table.rows)", "\(table.writtenLastHour)", "\(table.writtenTotal)", ago(table.lastWrittenAt, report.now),
         table.writers.joined(separator: ", "), table.readers.isEmpty ? "-" : table.readers.joined(separator: ", ")]
    }, empty: report.tables.isEmpty)
    let throughput = report.throughput
    var overall = throughput.overall.map { String(format: "%.1f/s", $0) } ?? "-"
    if let first = throughput.firstStartedAt, let last = throughput.lastCompletedAt, last > first {
        overall += " over \(span(last - first))"
    }
    section("Throughput", [["last 60 s", String(format: "%.1f/s", throughput.lastMinute)], ["overall", overall]])
}

/// A heading, then `rows` as a table, or "none".
private func section(_ heading: String, _ rows: [[String]], empty: Bool = false) {
    print("\n\(heading)")
    if empty { print("  none") } else { table(rows) }
}

/// `rows` indented, each column as wide as its widest cell.
private func table(_ rows: [[String]]) {
    var widths: [Int] = []
    for row in rows {
        for (column, cell) in row.enumerated() {
            if column == widths.count { widths.append(0) }
            widths[column] = max(widths[column], cell.count)
        }
    }
    for row in rows {
        let cells = row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
        }
        print("  " + cells.joined(separator: "   "))
    }
}

private func milliseconds(_ value: Double?) -> String {
    guard let value else { return "-" }
    return String(format: value < 10 ? "%.2f ms" : "%.0f ms", value)
}

/// A duration in milliseconds, in a unit that reads at a glance.
private func span(_ milliseconds: Int64) -> String {
    switch milliseconds {
    case ..<1000: return "\(milliseconds) ms"
    case ..<120_000: return String(format: "%.1f s", Double(milliseconds) / 1000)
    case ..<7_200_000: return "\(milliseconds / 60_000) min"
    default: return String(format: "%.1f h", Double(milliseconds) / 3_600_000)
    }
}

/// How long before `now` a time (Unix ms) was: "12s ago", "5m ago".
private func ago(_ time: Int64?, _ now: Int64) -> String {
    guard let time else { return "-" }
    let seconds = max(0, (now - time) / 1000)
    switch seconds {
    case ..<60: return "\(seconds)s ago"
    case ..<3600: return "\(seconds / 60)m ago"
    case ..<86_400: return "\(seconds / 3600)h ago"
    default: return "\(seconds / 86_400)d ago"
    }
}
