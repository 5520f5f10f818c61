import ArgumentParser
import Foundation
import WavehostEngine
import WavehostRouting

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

    @OptionGroup var options: VerdictOptions

    @Flag(help: "Act on the policy's verdict instead of promoting outright.")
    var auto = false

    func run() throws {
        let applied = try Promotion.run(store: try openStore(options.database), workflow: options.workflow, step: options.step,
                                        policy: options.policy, quality: options.qualityPath, since: options.since, force: !auto)
        guard !applied.isEmpty else {
            printError("error: \(options.workflow).\(options.step) has no champion and challenger to compare")
            throw ExitStatus.badInput
        }
        for entry in applied {
            print("variant \(entry.challenger.variantID): \(entry.action) — \(entry.verdict.reason)")
        }
    }
}
