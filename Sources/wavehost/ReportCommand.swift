import ArgumentParser
import Foundation
import WavehostDashboard
import WavehostEngine
import WavehostRouting

/// `wavehost report`: a step's comparison page (`report STEP --html FILE`, the default) or a
/// batch judged by the plan's criteria (`report batch WORKFLOW`).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Report on a step (its champion/challenger comparison as one HTML file) or on a batch.",
        subcommands: [StepReportCommand.self, BatchReportCommand.self],
        defaultSubcommand: StepReportCommand.self)
}

/// `wavehost report [step] STEP --html FILE`: the dashboard's comparison page as one file to send.
struct StepReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Write a step's champion/challenger comparison as one self-contained HTML file.",
        discussion: """
            The page the dashboard shows at /steps/WORKFLOW/STEP: the verdict (the same as \
            `wavehost compare`), the variants' records, and plots of success rate over time, \
            latency, quality scores and canary stages, with inline CSS and SVG and no link out. \
            Exit status: 0, 2 for an unknown workflow or step, 6 when the database is missing.
            """)

    @Argument(help: "The step, as WORKFLOW.STEP, or STEP with --workflow.")
    var step: String

    @Option(help: "The workflow's name (or give the step as WORKFLOW.STEP).")
    var workflow: String?

    @Option(help: ArgumentHelp("Where to write the page.", valueName: "file"))
    var html: String

    @Option(help: "Finished interactions each variant needs before the policy decides.")
    var minimum = 200

    @Option(help: ArgumentHelp("A grader step's score of this step's outputs, as STEP.FIELD (e.g. quality.answer.grade); "
                               + "by default a later step's answer.grade when it has any.", valueName: "step.field"))
    var quality: String?

    @Option(help: "Judge only the last this many minutes (the window); all by default.")
    var window: Double?

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    func validate() throws {
        if workflow == nil && !step.contains(".") {
            throw ValidationError("give the step as WORKFLOW.STEP, or pass --workflow")
        }
        if let quality, quality.split(separator: ".").count < 2 {
            throw ValidationError("--quality must be STEP.FIELD (e.g. quality.answer.grade), not \(quality)")
        }
        if minimum < 1 { throw ValidationError("--minimum must be 1 or more") }
    }

    func run() throws {
        // With --workflow the whole argument is the step; else the text before the first dot is the workflow.
        let (workflowName, stepName): (String, String) = workflow.map { ($0, step) } ?? {
            let parts = step.split(separator: ".", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }()
        let store = try openStore(database)
        var policy = PromotionPolicy()
        policy.minimumSample = minimum
        let qualityPath = quality.map { text -> (step: String, field: [String]) in
            let parts = text.split(separator: ".").map(String.init)
            return (parts[0], Array(parts.dropFirst()))
        }
        let since = window.map { Int64(Date().timeIntervalSince1970 * 1000 - $0 * 60_000) } ?? 0
        let page: String
        do {
            page = try StepReport.html(store: store, workflow: workflowName, step: stepName, quality: qualityPath, since: since, policy: policy)
        } catch let error as DashboardError {
            printError("error: \(error)")
            throw ExitStatus.badInput
        } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        do {
            try page.write(toFile: html, atomically: true, encoding: .utf8)
        } catch {
            printError("error: cannot write \(html): \(error.localizedDescription)")
            throw ExitStatus.actorFailed
        }
        print("wrote \(html): \(workflowName) / \(stepName)")
    }
}
