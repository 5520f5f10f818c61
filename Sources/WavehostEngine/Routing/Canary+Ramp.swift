import Metrics
import WavehostJSON
import WavehostMetrics
import WavehostRouting
import WavehostStore

/// A canary ramp run against the store: the pure step (``Canary/action(stage:schedule:verdict:)``)
/// decided in Routing, its weights, roles and review items written here.
extension Canary {
    public struct Status: Sendable {
        public let variantID: Int64
        public let percent: Int
        /// `ramping`, `done` or `rolled_back`.
        public let state: String
        public let note: String
        /// False when the ramp held at its stage.
        public let changed: Bool
    }

    /// Starts a ramp for challenger `variantID` at the schedule's first stage.
    ///
    /// - Throws: ``RoutingError`` when the ramp cannot start (an invalid schedule, no such
    ///   variant, the champion); `StoreError` when the database fails.
    public static func start(store: Store, workflow: String, step: String, variantID: Int64,
                             schedule: [Int] = defaultSchedule) throws {
        if let problem = scheduleProblem(schedule) { throw RoutingError(.invalidSchedule, problem) }
        let first = schedule[0]
        guard let variant = try store.variants(workflow: workflow, step: step).first(where: { $0.id == variantID && !$0.retired }) else {
            throw RoutingError(.unknownVariant, "step \(step) of \(workflow) has no variant \(variantID) (wavehost variants list)")
        }
        guard variant.role == .challenger else {
            throw RoutingError(.notAChallenger, "variant \(variantID) is the champion; a canary ramps a challenger")
        }
        try store.startCanary(variantID: variantID, schedule: schedule)
        try setShare(store: store, workflow: workflow, step: step, challenger: variantID, percent: first,
                     cause: "canary started at \(first)%")
    }

    /// Looks at each ramping canary of `step` and advances, holds or rolls it back.
    @discardableResult
    public static func tick(store: Store, workflow: String, step: String, policy: PromotionPolicy) throws(StoreError) -> [Status] {
        var statuses: [Status] = []
        for canary in try store.canaries(workflow: workflow, step: step) where canary.state == "ramping" {
            let records = try store.variantRecords(workflow: workflow, step: step, since: canary.stageStartedAt)
            guard let challenger = records.first(where: { $0.variantID == canary.variantID }),
                  let champion = PromotionPolicy.champion(of: records, excluding: canary.variantID) else { continue }
            let verdict = policy.decide(champion: champion, challenger: challenger)
            let percent = canary.schedule[canary.stage]
            switch action(stage: canary.stage, schedule: canary.schedule, verdict: verdict) {
            case .rollBack:
                try setShare(store: store, workflow: workflow, step: step, challenger: canary.variantID, percent: 0,
                             cause: "canary rolled back at \(percent)%: \(verdict.reason)")
                try store.updateCanary(canary.id, stage: canary.stage, state: "rolled_back")
                statuses.append(Status(variantID: canary.variantID, percent: 0, state: "rolled_back", note: verdict.reason, changed: true))
            case .hold(let why):
                statuses.append(Status(variantID: canary.variantID, percent: percent, state: "ramping", note: why, changed: false))
            case .askAPerson:
                // One open item per ramp and stage: a tick every pass must not file a new one each time.
                let reason = "canary of variant \(canary.variantID) held at \(percent)%: \(verdict.reason)"
                let marker = "canary of variant \(canary.variantID) held at \(percent)%:"
                if try !store.openReviews(workflow: workflow).contains(where: { $0.step == step && $0.reason.hasPrefix(marker) }) {
                    try store.requestReview(workflow: workflow, step: step, reason: reason,
                                            evidence: Promotion.evidence(champion, challenger, verdict))
                }
                statuses.append(Status(variantID: canary.variantID, percent: percent, state: "ramping",
                                       note: "held for a person to decide: \(verdict.reason)", changed: false))
            case .advance(let stage):
                let next = canary.schedule[stage]
                try setShare(store: store, workflow: workflow, step: step, challenger: canary.variantID, percent: next,
                             cause: "canary advanced \(percent)% → \(next)%: \(verdict.reason)")
                try store.updateCanary(canary.id, stage: stage, state: "ramping")
                statuses.append(Status(variantID: canary.variantID, percent: next, state: "ramping", note: verdict.reason, changed: true))
            case .complete:
                let last = canary.schedule.count - 1, final = canary.schedule[last]
                try setShare(store: store, workflow: workflow, step: step, challenger: canary.variantID, percent: final,
                             cause: "canary completed \(percent)% → \(final)%: \(verdict.reason)")
                try store.changeVariant(canary.variantID, role: .champion, cause: "canary completed at \(final)%")
                try store.changeVariant(champion.variantID, role: .challenger, cause: "replaced by canary variant \(canary.variantID)")
                try store.updateCanary(canary.id, stage: last, state: "done")
                statuses.append(Status(variantID: canary.variantID, percent: final, state: "done", note: verdict.reason, changed: true))
            }
        }
        // The stage each ramping variant stands at, as its share of live traffic (0…1).
        for status in statuses {
            Gauge(label: HostMetrics.canaryTrafficRatio, dimensions: [("workflow", workflow), ("step", step), ("variant", String(status.variantID))])
                .record(Double(status.percent) / 100)
        }
        return statuses
    }

    /// Gives the challenger `percent` of the step's live traffic and the champion the rest.
    private static func setShare(store: Store, workflow: String, step: String, challenger: Int64, percent: Int,
                                 cause: String) throws(StoreError) {
        guard let champion = PromotionPolicy.champion(of: try store.variants(workflow: workflow, step: step), excluding: challenger) else {
            throw StoreError(.statementFailed, database: store.database, "step \(step) has no champion to ramp against")
        }
        try store.changeVariant(challenger, weight: percent, mode: .live, cause: cause)
        try store.changeVariant(champion.id, weight: 100 - percent, cause: cause)
    }
}

extension PromotionPolicy {
    /// The champion rule (``PromotionPolicy/champion(of:excluding:)``) over the store's
    /// variants, retired ones left out.
    public static func champion(of variants: [Store.StoredVariant], excluding: Int64? = nil) -> Store.StoredVariant? {
        heaviest(of: variants.filter { $0.role == .champion && !$0.retired && $0.id != excluding }, id: \.id, weight: \.weight)
    }
}
