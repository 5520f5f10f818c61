import ArgumentParser
import Foundation
import Host

/// `wavehost compare STEP`: each live variant's record and the policy's verdict.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a step's live variants: volume, success rate, latency, and the promotion verdict.",
        discussion: """
            Each challenger is compared with the champion by a two-sided two-proportion z-test \
            on success rates at 5%, after at least --minimum finished interactions each. The \
            verdict is promote, continue, roll back, or ask a person (significant but slower, or \
            no difference after many). Exit status 0 whatever the verdict.
            """)

    @Argument(help: "The step's name.")
    var step: String

    @Option(help: "The workflow's name.")
    var workflow: String

    @Option(help: "Finished interactions each variant needs before a decision.")
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
        let store = try openStore(database)
        let records = try store.variantRecords(workflow: workflow, step: step, since: since)
        let scores = try qualityPath.map {
            try store.qualityScores(workflow: workflow, step: step, graderStep: $0.step, field: $0.field, since: since)
        }
        guard !records.isEmpty else {
            printError("error: workflow \(workflow) has no step \(step) with live variants in this store")
            throw ExitCode(2)
        }
        func milliseconds(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "-" }
        print("variant  actor                 role        weight  finished  success   p50         p95")
        for record in records {
            print([String(record.variantID).padding(8), record.actor.padding(21), record.role.padding(11), String(record.weight).padding(7),
                   String(record.finished).padding(9), String(format: "%.1f%%", record.successRate * 100).padding(9),
                   milliseconds(record.p50Milliseconds).padding(11), milliseconds(record.p95Milliseconds)].joined(separator: " "))
        }
        guard let champion = records.first(where: { $0.role == "champion" }) else { return }
        var policy = PromotionPolicy()
        policy.minimumSample = minimum
        for challenger in records where challenger.role == "challenger" {
            let verdict = policy.decide(champion: champion, challenger: challenger, quality: scores.map {
                (champion: $0[champion.variantID] ?? [], challenger: $0[challenger.variantID] ?? [])
            })
            print("\nvariant \(challenger.variantID) against champion \(champion.variantID): \(verdict.decision.rawValue) — \(verdict.reason)")
        }
    }
}
