import Foundation

/// One live variant's record at a step: how many interactions ended, how many completed,
/// and how long the completed ones took.
public struct VariantRecord: Sendable {
    public let variantID: Int64
    public let actor: String
    public let role: String
    public let weight: Int
    public let finished: Int
    public let completed: Int
    public let p50Milliseconds: Double?
    public let p95Milliseconds: Double?

    public var successRate: Double { finished == 0 ? 0 : Double(completed) / Double(finished) }
}

/// Decides between a champion and a challenger on their measured records, not on raw
/// averages: success rates are compared with a two-sided two-proportion z-test at 5%, and
/// nothing is decided before both have `minimumSample` finished interactions.
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

    public func decide(champion: VariantRecord, challenger: VariantRecord) -> Verdict {
        guard champion.finished >= minimumSample, challenger.finished >= minimumSample else {
            let missing = max(minimumSample - champion.finished, minimumSample - challenger.finished)
            return Verdict(decision: .continue, z: nil, pValue: nil, reason: "\(missing) more finished interactions needed before deciding")
        }
        let z = Self.twoProportionZ(champion.completed, champion.finished, challenger.completed, challenger.finished)
        let p = erfc(abs(z) / 2.squareRoot())  // two-sided
        let rates = String(format: "success %.1f%% vs %.1f%%, z = %.2f, p = %.3f",
                           challenger.successRate * 100, champion.successRate * 100, z, p)
        if p < 0.05 && z < 0 {
            return Verdict(decision: .rollBack, z: z, pValue: p, reason: "the challenger fails more often: \(rates)")
        }
        if p < 0.05 && z > 0 {
            if let slow = challenger.p95Milliseconds, let fast = champion.p95Milliseconds,
               slow > fast * latencyTolerance && slow - fast > latencySlackMilliseconds {
                return Verdict(decision: .askAPerson, z: z, pValue: p,
                               reason: "the challenger succeeds more often but is slower (p95 \(Int(slow)) vs \(Int(fast)) ms): \(rates)")
            }
            return Verdict(decision: .promote, z: z, pValue: p, reason: "the challenger succeeds more often: \(rates)")
        }
        if champion.finished >= ambiguousAfter && challenger.finished >= ambiguousAfter {
            return Verdict(decision: .askAPerson, z: z, pValue: p, reason: "no significant difference after \(ambiguousAfter) each: \(rates)")
        }
        return Verdict(decision: .continue, z: z, pValue: p, reason: "no significant difference yet: \(rates)")
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
