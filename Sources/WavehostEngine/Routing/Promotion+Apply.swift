import WavehostJSON
import WavehostRouting
import WavehostStore

/// Acting on a promotion decision: weights and roles change in the store (a running engine
/// applies them within a second), and the decision is an event carrying its numbers.
extension Promotion {
    public struct Applied: Sendable {
        public let challenger: VariantRecord
        public let verdict: PromotionPolicy.Verdict
        /// What was done: "promoted", "rolled back", "review requested", or "nothing yet".
        public let action: String
    }

    /// Decides each challenger of `step` against its champion and acts: a promoted
    /// challenger becomes champion with the champion's weight (the old champion keeps
    /// running at weight 0, ready for a rollback); a rolled-back one drops to weight 0; an
    /// ambiguous one gets a human-review item. Only interactions started at or after `since`
    /// (Unix ms) count: the window. `force` promotes whatever the verdict says.
    public static func run(store: Store, workflow: String, step: String, policy: PromotionPolicy,
                           quality: (step: String, field: [String])? = nil, since: Int64 = 0,
                           force: Bool = false) throws(StoreError) -> [Applied] {
        let records = try store.variantRecords(workflow: workflow, step: step, since: since)
        let scores = try quality.map { quality throws(StoreError) in
            try store.qualityScores(workflow: workflow, step: step, graderStep: quality.step, field: quality.field, since: since)
        }
        guard let champion = PromotionPolicy.champion(of: records) else { return [] }
        var applied: [Applied] = []
        for challenger in records where challenger.role == .challenger {
            let verdict = policy.decide(champion: champion, challenger: challenger, quality: scores.map {
                (champion: $0[champion.variantID] ?? [], challenger: $0[challenger.variantID] ?? [])
            })
            let decision = force ? .promote : verdict.decision
            let action: String
            switch decision {
            case .promote:
                try store.changeVariant(challenger.variantID, weight: max(champion.weight, challenger.weight), role: .champion,
                                        cause: force ? "wavehost promote (by hand)" : "promotion policy: \(verdict.reason)")
                try store.changeVariant(champion.variantID, weight: 0, role: .challenger, cause: "replaced by variant \(challenger.variantID)")
                action = "promoted"
            case .rollBack:
                try store.changeVariant(challenger.variantID, weight: 0, cause: "promotion policy: \(verdict.reason)")
                action = "rolled back"
            case .askAPerson:
                try store.requestReview(workflow: workflow, step: step, reason: verdict.reason, evidence: evidence(champion, challenger, verdict))
                action = "review requested"
            case .continue:
                action = "nothing yet"
            }
            try store.appendEvents([EventRecord(kind: "promotion_decided", cause: "\(action): \(verdict.reason)", interactionID: nil,
                                                payload: evidence(champion, challenger, verdict).text)])
            applied.append(Applied(challenger: challenger, verdict: verdict, action: action))
            if decision == .promote { break }  // one champion at a time; the rest are judged against it next time
        }
        return applied
    }
}
