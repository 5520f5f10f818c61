import ArgumentParser
import Foundation
import Host

/// `wavehost promote STEP [--auto]`.
struct PromoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Promote a step's challenger, or with --auto act on the promotion policy's verdict.",
        discussion: """
            --auto judges each challenger as `wavehost compare` does and acts: promote, roll back \
            (weight 0), or open a human-review item when the evidence is ambiguous. Without \
            --auto the challenger is promoted now. Every decision is an event with its numbers; \
            a running host applies the new weights within a second.
            """)

    @Argument(help: "The step's name.")
    var step: String

    @Option(help: "The workflow's name.")
    var workflow: String

    @Flag(help: "Act on the policy's verdict instead of promoting outright.")
    var auto = false

    @Option(help: "Finished interactions each variant needs before the policy decides.")
    var minimum = 200

    @Option(help: ArgumentHelp("A grader step's score of this step's outputs, as STEP.FIELD (e.g. quality.answer.grade), compared by Welch's t.",
                               valueName: "step.field"))
    var quality: String?

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    @Option(help: "Judge only the last this many minutes (the window); all by default.")
    var window: Double?

    /// The window's start, in Unix ms (0: everything).
    var since: Int64 { window.map { Int64(Date().timeIntervalSince1970 * 1000 - $0 * 60_000) } ?? 0 }

    var qualityPath: (step: String, field: [String])? {
        guard let parts = quality?.split(separator: ".").map(String.init), parts.count >= 2 else { return nil }
        return (parts[0], Array(parts.dropFirst()))
    }

    func run() throws {
        var policy = PromotionPolicy()
        policy.minimumSample = minimum
        let applied = try Promotion.run(store: try openStore(database), workflow: workflow, step: step, policy: policy,
                                         quality: qualityPath, since: since, force: !auto)
        guard !applied.isEmpty else {
            printError("error: \(workflow).\(step) has no champion and challenger to compare")
            throw ExitCode(2)
        }
        for entry in applied {
            print("variant \(entry.challenger.variantID): \(entry.action) — \(entry.verdict.reason)")
        }
    }
}
