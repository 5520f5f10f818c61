import Foundation

/// One live variant's record at a step: how many interactions ended, how many completed,
/// and how long the completed ones took.
public struct VariantRecord: Sendable {
    /// A variant's part in its step.
    public enum Role: String, Sendable, CaseIterable { case champion, challenger }

    public let variantID: Int64
    public let actor: String
    public let role: Role
    public let weight: Int
    public let finished: Int
    public let completed: Int
    public let p50Milliseconds: Double?
    public let p95Milliseconds: Double?

    public var successRate: Double { finished == 0 ? 0 : Double(completed) / Double(finished) }

    package init(variantID: Int64, actor: String, role: Role, weight: Int, finished: Int, completed: Int,
                 p50Milliseconds: Double?, p95Milliseconds: Double?) {
        self.variantID = variantID
        self.actor = actor
        self.role = role
        self.weight = weight
        self.finished = finished
        self.completed = completed
        self.p50Milliseconds = p50Milliseconds
        self.p95Milliseconds = p95Milliseconds
    }
}

/// Decides between a champion and a challenger on their measured records, not on raw
/// averages: success rates are compared with a two-sided two-proportion z-test at 5%,
/// grader scores (when given) with Welch's t at 5%, and nothing is decided before both
/// have `minimumSample` finished interactions.
public struct PromotionPolicy: Sendable {
    public enum Decision: String, Sendable {
        case promote, `continue`, rollBack = "roll back", askAPerson = "ask a person"
    }

    public struct Verdict: Sendable {
        public let decision: Decision
        /// The numbers behind it, for the event and the `compare` table.
        public let z: Double?
        public let pValue: Double?
        public let reason: String
    }

    public var minimumSample = 200
    /// With this many each and still no significant difference, a person decides.
    public var ambiguousAfter = 2000
    /// How much slower (p95) a better challenger may be before a person must look: both
    /// the ratio and the milliseconds must be exceeded (microsecond noise is not slowness).
    public var latencyTolerance = 1.2
    public var latencySlackMilliseconds = 5.0

    public init() {}

    /// Judges success rates and, when a grader step scores the variants' outputs, their
    /// mean quality (Welch's t, read against the normal distribution: every sample holds
    /// at least `minimumSample`). Better on one and worse on the other asks a person.
    public func decide(champion: VariantRecord, challenger: VariantRecord,
                       quality: (champion: [Double], challenger: [Double])? = nil) -> Verdict {
        guard champion.finished >= minimumSample, challenger.finished >= minimumSample else {
            let missing = max(minimumSample - champion.finished, minimumSample - challenger.finished)
            return Verdict(decision: .continue, z: nil, pValue: nil, reason: "\(missing) more finished interactions needed before deciding")
        }
        let z = Self.twoProportionZ(champion.completed, champion.finished, challenger.completed, challenger.finished)
        let p = erfc(abs(z) / 2.squareRoot())  // two-sided
        var evidence = String(format: "success %.1f%% vs %.1f%%, z = %.2f, p = %.3f",
                              challenger.successRate * 100, champion.successRate * 100, z, p)
        var worse = p < 0.05 && z < 0, better = p < 0.05 && z > 0
        if let quality, quality.champion.count >= minimumSample, quality.challenger.count >= minimumSample {
            let t = Self.welchT(quality.champion, quality.challenger)
            let qualityP = erfc(abs(t) / 2.squareRoot())
            evidence += String(format: "; quality %.2f vs %.2f, t = %.2f, p = %.3f",
                               Self.mean(quality.challenger), Self.mean(quality.champion), t, qualityP)
            worse = worse || (qualityP < 0.05 && t < 0)
            better = better || (qualityP < 0.05 && t > 0)
        }
        switch (worse, better) {
        case (true, true):
            return Verdict(decision: .askAPerson, z: z, pValue: p, reason: "the challenger is better on one measure and worse on another: \(evidence)")
        case (true, false):
            return Verdict(decision: .rollBack, z: z, pValue: p, reason: "the challenger is worse: \(evidence)")
        case (false, true):
            if let slow = challenger.p95Milliseconds, let fast = champion.p95Milliseconds,
               slow > fast * latencyTolerance && slow - fast > latencySlackMilliseconds {
                return Verdict(decision: .askAPerson, z: z, pValue: p,
                               reason: "the challenger is better but slower (p95 \(Int(slow)) vs \(Int(fast)) ms): \(evidence)")
            }
            return Verdict(decision: .promote, z: z, pValue: p, reason: "the challenger is better: \(evidence)")
        case (false, false):
            if champion.finished >= ambiguousAfter && challenger.finished >= ambiguousAfter {
                return Verdict(decision: .askAPerson, z: z, pValue: p, reason: "no significant difference after \(ambiguousAfter) each: \(evidence)")
            }
            return Verdict(decision: .continue, z: z, pValue: p, reason: "no significant difference yet: \(evidence)")
        }
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

    /// Welch's t for the challenger's mean minus the champion's; 0 without variance.
    static func welchT(_ champion: [Double], _ challenger: [Double]) -> Double {
        func variance(_ values: [Double]) -> Double {
            let m = mean(values)
            return values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(values.count - 1, 1))
        }
        let error = (variance(champion) / Double(champion.count) + variance(challenger) / Double(challenger.count)).squareRoot()
        guard error > 0 else { return 0 }
        return (mean(challenger) - mean(champion)) / error
    }

    /// z for the challenger's success rate minus the champion's, pooled; 0 when both are
    /// all successes or all failures (no variance, no evidence either way).
    static func twoProportionZ(_ successesA: Int, _ countA: Int, _ successesB: Int, _ countB: Int) -> Double {
        let pooled = Double(successesA + successesB) / Double(countA + countB)
        let error = (pooled * (1 - pooled) * (1 / Double(countA) + 1 / Double(countB))).squareRoot()
        guard error > 0 else { return 0 }
        return (Double(successesB) / Double(countB) - Double(successesA) / Double(countA)) / error
    }
}

extension PromotionPolicy {
    /// The one rule for a step's champion — promotion, `compare`, the dashboard and canaries
    /// all use it: of the variants in the champion role, the one carrying the most live
    /// weight, the oldest on a tie. `excluding` leaves one out (a canary's own variant).
    public static func champion(of records: [VariantRecord], excluding: Int64? = nil) -> VariantRecord? {
        heaviest(of: records.filter { $0.role == .champion && $0.variantID != excluding }, id: \.variantID, weight: \.weight)
    }

    /// The same rule over any list of champions (the store's variants, say): the one
    /// carrying the most live weight, the oldest (lowest id) on a tie. The caller keeps only
    /// the variants in the champion role.
    package static func heaviest<Variant>(of champions: [Variant], id: KeyPath<Variant, Int64>, weight: KeyPath<Variant, Int>) -> Variant? {
        champions.min { a, b in
            a[keyPath: weight] != b[keyPath: weight] ? a[keyPath: weight] > b[keyPath: weight] : a[keyPath: id] < b[keyPath: id]
        }
    }
}
