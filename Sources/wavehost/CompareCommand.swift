import ArgumentParser
import Foundation
import WavehostEngine
import WavehostRouting

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

    @OptionGroup var options: VerdictOptions

    func run() throws {
        let (workflow, step, since) = (options.workflow, options.step, options.since)
        let store = try openStore(options.database)
        let records = try store.variantRecords(workflow: workflow, step: step, since: since)
        let scores = try options.qualityPath.map {
            try store.qualityScores(workflow: workflow, step: step, graderStep: $0.step, field: $0.field, since: since)
        }
        guard !records.isEmpty else {
            printError("error: workflow \(workflow) has no step \(step) with live variants in this store")
            throw ExitStatus.badInput
        }
        func milliseconds(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "-" }
        print("variant  actor                 role        weight  finished  success   p50         p95")
        for record in records {
            print([String(record.variantID).padding(8), record.actor.padding(21), record.role.rawValue.padding(11), String(record.weight).padding(7),
                   String(record.finished).padding(9), String(format: "%.1f%%", record.successRate * 100).padding(9),
                   milliseconds(record.p50Milliseconds).padding(11), milliseconds(record.p95Milliseconds)].joined(separator: " "))
        }
        guard let champion = PromotionPolicy.champion(of: records) else { return }
        let policy = options.policy
        for challenger in records where challenger.role == .challenger {
            let verdict = policy.decide(champion: champion, challenger: challenger, quality: scores.map {
                (champion: $0[champion.variantID] ?? [], challenger: $0[challenger.variantID] ?? [])
            })
            print("\nvariant \(challenger.variantID) against champion \(champion.variantID): \(verdict.decision.rawValue) — \(verdict.reason)")
        }
    }
}
