import Foundation
import WavehostEngine
import WavehostStore

/// `GET /`: what `wavehost status` shows, from the same `Store.status`, plus the
/// service's background issues and the number of open reviews.
enum StatusPage {
    static func render(_ report: StatusReport, issues: [BackgroundIssue], openReviews: Int, frame: HTML.Frame) -> String {
        let title = report.workflow.map { "Workflow \($0)" }
            ?? (report.workflows.isEmpty ? "All workflows: none yet" : "All workflows")
        var body = "<h1>\(HTML.escape(title))</h1><p class=\"sub\">"
            + (report.workflows.isEmpty ? "" : HTML.escape(report.workflows.joined(separator: ", ")) + " · ")
            + "read \(Format.time(report.now))</p>"
        if openReviews > 0 {
            body += "<div class=\"notice\"><a href=\"/reviews\">\(openReviews) open review\(openReviews == 1 ? "" : "s")</a> "
                + "wait for a person's decision.</div>"
        }
        let runs = report.runs, calls = report.interactions
        body += "<div class=\"grid\"><section><h2>Runs</h2>" + HTML.cards([
            ("\(runs.total)", "total"), ("\(runs.completed)", "completed"), ("\(runs.failed)", "failed"),
            ("\(runs.running)", "running"), ("\(runs.pending)", "pending"), ("\(runs.throughEveryStep)", "through every step"),
        ]) + "</section><section><h2>Interactions</h2>" + HTML.cards([
            ("\(calls.total)", "total"), ("\(calls.completed)", "completed"), ("\(calls.failed)", "failed"),
            ("\(calls.timedOut)", "timed out"), ("\(calls.running)", "running"), ("\(calls.pending)", "pending"),
        ]) + "</section></div>"

        body += "<section><h2>Steps</h2>" + HTML.table(
            ["workflow", "step", "completed / interactions", "runs done / runs", "skipped", "p50", "p95"],
            report.steps.map { step in
                [HTML.escape(step.workflow),
                 "<a href=\"\(HTML.stepPath(step.workflow, step.name))\">\(HTML.escape(step.name))</a>",
                 "\(step.interactionsCompleted) / \(step.interactions)", "\(step.runsCompleted) / \(step.runs)", "\(step.runsSkipped)",
                 Format.milliseconds(step.p50Milliseconds), Format.milliseconds(step.p95Milliseconds)]
            }, numeric: [2, 3, 4, 5, 6]) + "</section>"

        body += "<section><h2>Actors</h2>" + HTML.table(["actor", "interactions", "success", "sha256"], report.actors.map { actor in
            [HTML.escape(actor.name), "\(actor.interactions)", Format.percent(actor.successRate),
             actor.sha256.map { "<code title=\"\(HTML.escape($0))\">\(HTML.escape(String($0.prefix(12))))</code>" }.joined(separator: " ")]
        }, numeric: [1, 2]) + "</section>"

        body += "<section><h2>Recent errors</h2>" + HTML.table(["count", "latest", "of", "error"], report.errors.map { error in
            ["\(error.count)", Format.ago(error.latestAt, report.now), error.source.rawValue, "<div class=\"err\">\(HTML.escape(error.message))</div>"]
        }, numeric: [0]) + "</section>"

        body += "<section><h2>Stale work</h2>" + staleWork(report) + "</section>"

        body += "<section><h2>Hosts</h2>" + HTML.table(["host", "pid", "started", "last heartbeat", "leases", "lapsed"], report.hosts.map { host in
            [HTML.escape(host.id), "\(host.pid)", Format.ago(host.startedAt, report.now),
             host.stoppedAt == nil ? Format.ago(host.heartbeatAt, report.now) : "stopped " + Format.ago(host.stoppedAt, report.now),
             "\(host.leases)", "\(host.lapsedLeases)"]
        }, numeric: [1, 4, 5], empty: "no host seen in the last hour") + "</section>"

        body += "<section><h2>Tables</h2>" + HTML.table(
            ["table", "rows", "written last hour", "written", "last write", "written by", "read by"], report.tables.map { table in
                [HTML.escape(table.name), "\(table.rows)", "\(table.writtenLastHour)", "\(table.writtenTotal)",
                 table.lastWrittenAt.map { "<span title=\"\(Format.time($0))\">\(Format.ago($0, report.now))</span>" } ?? "–",
                 HTML.escape(table.writers.joined(separator: ", ")), table.readers.isEmpty ? "–" : HTML.escape(table.readers.joined(separator: ", "))]
            }, numeric: [1, 2, 3], empty: "no declared table") + "</section>"

        let throughput = report.throughput
        var overall = throughput.overall.map { String(format: "%.1f/s", $0) } ?? "–"
        if let first = throughput.firstStartedAt, let last = throughput.lastCompletedAt, last > first {
            overall += " over \(Format.span(last - first))"
        }
        body += "<div class=\"grid\"><section><h2>Throughput</h2>" + HTML.cards([
            (String(format: "%.1f/s", throughput.lastMinute), "last 60 s"), (overall, "overall"),
        ]) + "</section>"

        body += "<section><h2>Background issues</h2>" + HTML.table(["when", "task", "times", "message"], issues.map { issue in
            let time = Int64(issue.time.timeIntervalSince1970 * 1000)
            return ["<span title=\"\(Format.time(time))\">\(Format.ago(time, report.now))</span>", HTML.escape(issue.task),
                    "\(issue.repeats)", "<div class=\"err\">\(HTML.escape(issue.message))</div>"]
        }, empty: "none: every background task is healthy") + "</section></div>"
        return HTML.page(title: "\(title) — Wavehost", frame: frame, body: body)
    }

    private static func staleWork(_ report: StatusReport) -> String {
        guard !report.staleInteractions.isEmpty || !report.staleRuns.isEmpty else { return "<p class=\"none\">none</p>" }
        var html = HTML.table(["interaction", "run", "step", "started", "timeout", "owner"], report.staleInteractions.map { call in
            ["\(call.id)", "\(call.runID)", HTML.escape(call.step), Format.ago(call.startedAt, report.now),
             Format.span(call.timeoutMilliseconds), HTML.escape(call.owner ?? "–")]
        }, empty: "no interaction past its timeout")
        html += HTML.table(["run", "subject", "owner", "lease expired"], report.staleRuns.map { run in
            ["\(run.id)", HTML.escape(run.subject), HTML.escape(run.owner ?? "–"), Format.ago(run.leaseExpiresAt, report.now)]
        }, empty: "no run with a lapsed lease")
        return html
    }
}
