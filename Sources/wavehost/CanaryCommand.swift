import ArgumentParser
import WavehostEngine
import WavehostRouting

/// `wavehost canary start|tick`: ramp a challenger's share of live traffic.
struct CanaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canary",
        abstract: "Ramp a challenger up a schedule of traffic shares, rolling back at once if it degrades.",
        discussion: """
            `wavehost serve` advances every ramp after each pass; `tick` does it by hand. A stage \
            advances once the challenger and the champion each have --minimum finished \
            interactions in it and the challenger is not significantly worse (two-sided \
            two-proportion z-test at 5%); when it is, its share drops to 0.
            """,
        subcommands: [Start.self, Tick.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a ramp at the schedule's first share.")
        @Argument(help: "The step.") var step: String
        @Argument(help: "The challenger's variant id (wavehost variants list).") var variant: Int64
        @Option(help: "The workflow's name.") var workflow: String
        @Option(help: "Shares in percent, comma-separated.") var schedule = "5,10,25,50,100"
        @Option(help: "The store (defaults as for run).") var database: String?

        func run() throws {
            let shares = schedule.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard shares.count >= 2, shares.allSatisfy({ (1...100).contains($0) }), shares == shares.sorted(), shares.last == 100 else {
                throw ValidationError("--schedule needs two or more rising percentages ending at 100, e.g. 5,10,25,50,100 "
                    + "(the step to 100 is taken only on a promote verdict)")
            }
            try Canary.start(store: try openStore(database), workflow: workflow, step: step, variantID: variant, schedule: shares)
            print("variant \(variant): canary at \(shares[0])% of \(workflow).\(step)")
        }
    }

    struct Tick: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Judge each ramping canary of a step now.")
        @Argument(help: "The step.") var step: String
        @Option(help: "The workflow's name.") var workflow: String
        @Option(help: "Finished interactions each variant needs in a stage.") var minimum = 200
        @Option(help: "The store (defaults as for run).") var database: String?

        func run() throws {
            var policy = PromotionPolicy()
            policy.minimumSample = minimum
            for status in try Canary.tick(store: try openStore(database), workflow: workflow, step: step, policy: policy) {
                print("variant \(status.variantID): \(status.state) at \(status.percent)% — \(status.note)")
            }
        }
    }
}
