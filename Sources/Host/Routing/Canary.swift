import Metrics
import WavehostJSON

/// A canary ramp: a challenger's share of live traffic climbs a schedule (5 → 10 → 25 →
/// 50 → 100 %) one stage at a time, advancing only once the stage has a full sample and
/// the challenger's record there holds against the champion's (the verdict of
/// ``PromotionPolicy``, the one `promote` and `compare` use). The moment it is significantly
/// worse, the challenger drops to 0 %. When the verdict asks a person, the ramp holds and a
/// review item is opened. The last step — to the final share, where the challenger becomes
/// the champion — is taken only on a promote verdict: holding up is not enough to replace.
public enum Canary {
    public static let defaultSchedule = [5, 10, 25, 50, 100]

    public struct Status: Sendable {
        public let variantID: Int64
        public let percent: Int
        /// `ramping`, `done` or `rolled_back`.
        public let state: String
        public let note: String
        /// False when the ramp held at its stage.
        public let changed: Bool
    }

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

    /// Starts a ramp for challenger `variantID` at the schedule's first stage.
    public static func start(store: Store, workflow: String, step: String, variantID: Int64,
                             schedule: [Int] = defaultSchedule) throws(StoreError) {
        guard schedule.count >= 2, schedule.last == 100 else {
            throw StoreError(.statementFailed, database: store.database,
                             "a canary's schedule needs two stages or more and ends at 100 (the last is taken on a promote verdict), not \(schedule)")
        }
        let first = schedule[0]
        guard let variant = try store.variants(workflow: workflow, step: step).first(where: { $0.id == variantID && !$0.retired }) else {
            throw StoreError(.statementFailed, database: store.database, "step \(step) of \(workflow) has no variant \(variantID) (wavehost variants list)")
        }
        guard variant.role == "challenger" else {
            throw StoreError(.statementFailed, database: store.database, "variant \(variantID) is the champion; a canary ramps a challenger")
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
                try store.changeVariant(canary.variantID, role: "champion", cause: "canary completed at \(final)%")
                try store.changeVariant(champion.variantID, role: "challenger", cause: "replaced by canary variant \(canary.variantID)")
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
        try store.changeVariant(challenger, weight: percent, mode: "live", cause: cause)
        try store.changeVariant(champion.id, weight: 100 - percent, cause: cause)
    }
}

extension Store {
    struct CanaryRow {
        let id: Int64
        let variantID: Int64
        let schedule: [Int]
        let stage: Int
        let state: String
        let stageStartedAt: Int64
    }

    func startCanary(variantID: Int64, schedule: [Int]) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                INSERT INTO canaries (variant_id, schedule, stage, state, stage_started_at) VALUES (\(connection.placeholders(5)))
                """, [.integer(variantID), .text(JSON.array(schedule.map { .integer($0) }).text), .integer(0), .text("ramping"),
                      .integer(Store.now())])
        }
    }

    func updateCanary(_ id: Int64, stage: Int, state: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            try connection.query("UPDATE canaries SET stage = \(p(1)), state = \(p(2)), stage_started_at = \(p(3)) WHERE id = \(p(4))",
                                 [.integer(Int64(stage)), .text(state), .integer(Store.now()), .integer(id)])
        }
    }

    func canaries(workflow: String, step: String) throws(StoreError) -> [CanaryRow] {
        let ids = Set(try variants(workflow: workflow, step: step).map(\.id))
        return try withConnection { connection throws(StoreError) in
            try connection.query("SELECT id, variant_id, schedule, stage, state, stage_started_at FROM canaries ORDER BY id").compactMap { row in
                guard let variant = row[1].integer, ids.contains(variant),
                      let schedule = (try? JSON.parse(Array((row[2].text ?? "[]").utf8)))?.arrayValue?.compactMap(\.intValue) else { return nil }
                return CanaryRow(id: row[0].integer ?? 0, variantID: variant, schedule: schedule, stage: Int(row[3].integer ?? 0),
                                 state: row[4].text ?? "", stageStartedAt: row[5].integer ?? 0)
            }
        }
    }
}
