import Metrics
import WavehostJSON

/// A canary ramp: a challenger's share of live traffic climbs a schedule (5 → 10 → 25 →
/// 50 → 100 %) one stage at a time, advancing only once the stage has a full sample and
/// the challenger's record there holds against the champion's; the moment it is
/// significantly worse, the challenger drops to 0 %. At 100 % it becomes the champion.
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

    /// Starts a ramp for challenger `variantID` at the schedule's first stage.
    public static func start(store: Store, workflow: String, step: String, variantID: Int64,
                             schedule: [Int] = defaultSchedule) throws(StoreError) {
        guard let first = schedule.first else { return }
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
                  let champion = records.first(where: { $0.role == "champion" && $0.variantID != canary.variantID }) else { continue }
            let verdict = policy.decide(champion: champion, challenger: challenger)
            let percent = canary.schedule[canary.stage]
            if verdict.decision == .rollBack {
                try setShare(store: store, workflow: workflow, step: step, challenger: canary.variantID, percent: 0,
                             cause: "canary rolled back at \(percent)%: \(verdict.reason)")
                try store.updateCanary(canary.id, stage: canary.stage, state: "rolled_back")
                statuses.append(Status(variantID: canary.variantID, percent: 0, state: "rolled_back", note: verdict.reason, changed: true))
            } else if verdict.decision == .continue && verdict.z == nil {
                statuses.append(Status(variantID: canary.variantID, percent: percent, state: "ramping", note: verdict.reason, changed: false))
            } else if canary.stage + 1 < canary.schedule.count {
                let next = canary.schedule[canary.stage + 1]
                try setShare(store: store, workflow: workflow, step: step, challenger: canary.variantID, percent: next,
                             cause: "canary advanced \(percent)% → \(next)%: \(verdict.reason)")
                try store.updateCanary(canary.id, stage: canary.stage + 1, state: "ramping")
                statuses.append(Status(variantID: canary.variantID, percent: next, state: "ramping", note: verdict.reason, changed: true))
            } else {
                try store.changeVariant(canary.variantID, role: "champion", cause: "canary completed at \(percent)%")
                try store.changeVariant(champion.variantID, role: "challenger", cause: "replaced by canary variant \(canary.variantID)")
                try store.updateCanary(canary.id, stage: canary.stage, state: "done")
                statuses.append(Status(variantID: canary.variantID, percent: percent, state: "done", note: verdict.reason, changed: true))
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
        let variants = try store.variants(workflow: workflow, step: step)
        guard let champion = variants.first(where: { $0.role == "champion" && $0.id != challenger && !$0.retired }) else {
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
