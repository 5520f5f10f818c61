import ArgumentParser
import Foundation
import WavehostEngine
import WavehostRouting

/// What `compare` and `promote` judge by: the step, the window, the sample, the scores.
struct VerdictOptions: ParsableArguments {
    @Argument(help: "The step's name.")
    var step: String

    @Option(help: "The workflow's name.")
    var workflow: String

    @Option(help: "Finished interactions each variant needs before the policy decides.")
    var minimum = 200

    @Option(help: ArgumentHelp("A grader step's score of this step's outputs, as STEP.FIELD (e.g. quality.answer.grade), compared by Welch's t.",
                               valueName: "step.field"))
    var quality: String?

    @Option(help: "Judge only the last this many minutes (the window); all by default.")
    var window: Double?

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    /// The window's start, in Unix ms (0: everything).
    var since: Int64 { window.map { Int64(Date().timeIntervalSince1970 * 1000 - $0 * 60_000) } ?? 0 }

    var qualityPath: (step: String, field: [String])? {
        guard let parts = quality?.split(separator: ".").map(String.init), parts.count >= 2 else { return nil }
        return (parts[0], Array(parts.dropFirst()))
    }

    var policy: PromotionPolicy {
        var policy = PromotionPolicy()
        policy.minimumSample = minimum
        return policy
    }
}
