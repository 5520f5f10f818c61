/// A canary ramp: a challenger's share of live traffic climbs a schedule (5 → 10 → 25 →
/// 50 → 100 %) one stage at a time, advancing only once the stage has a full sample and
/// the challenger's record there holds against the champion's (the verdict of
/// ``PromotionPolicy``, the one `promote` and `compare` use). The moment it is significantly
/// worse, the challenger drops to 0 %. When the verdict asks a person, the ramp holds and a
/// review item is opened. The last step — to the final share, where the challenger becomes
/// the champion — is taken only on a promote verdict: holding up is not enough to replace.
public enum Canary {
    public static let defaultSchedule = [5, 10, 25, 50, 100]

    /// What a ramp does on a verdict: pure, so each branch is tested on its own.
    public enum Action: Equatable, Sendable {
        /// Stay at this stage: the sample is short, or only a promote verdict may finish the ramp.
        case hold(String)
        case advance(toStage: Int)
        /// To the final share, and the challenger becomes the champion.
        case complete
        case rollBack
        /// Stay, and open a review item for a person.
        case askAPerson
    }

    /// Why `schedule` cannot drive a ramp, or nil when it can: two stages or more, ending at 100.
    package static func scheduleProblem(_ schedule: [Int]) -> String? {
        guard schedule.count >= 2, schedule.last == 100 else {
            return "a canary's schedule needs two stages or more and ends at 100 (the last is taken on a promote verdict), not \(schedule)"
        }
        return nil
    }

    /// The action for a ramp at `stage` of `schedule` on `verdict`.
    public static func action(stage: Int, schedule: [Int], verdict: PromotionPolicy.Verdict) -> Action {
        let finishing = stage + 1 >= schedule.count - 1  // the next stage is the last (or this one is)
        switch verdict.decision {
        case .rollBack: return .rollBack
        case .askAPerson: return .askAPerson
        case .continue where verdict.z == nil: return .hold(verdict.reason)
        case .continue:
            return finishing ? .hold("it holds up but is not better, and only a promote verdict finishes a ramp: \(verdict.reason)")
                : .advance(toStage: stage + 1)
        case .promote: return finishing ? .complete : .advance(toStage: stage + 1)
        }
    }
}
