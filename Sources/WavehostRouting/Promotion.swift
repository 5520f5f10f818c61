import WavehostJSON

/// A promotion decision's record: the verdict's numbers as they are kept with the event
/// and the review item. Acting on it is the engine's (``Promotion/run``).
public enum Promotion {
    /// The verdict and both records, as JSON: kept as the decision's event and a review's evidence.
    package static func evidence(_ champion: VariantRecord, _ challenger: VariantRecord, _ verdict: PromotionPolicy.Verdict) -> JSON {
        func record(_ r: VariantRecord) -> JSON {
            ["variant": .integer(r.variantID), "finished": .integer(r.finished), "completed": .integer(r.completed),
             "success_rate": .double(r.successRate), "p50_ms": r.p50Milliseconds.map(JSON.double) ?? .null,
             "p95_ms": r.p95Milliseconds.map(JSON.double) ?? .null]
        }
        return ["decision": .string(verdict.decision.rawValue), "z": verdict.z.map(JSON.double) ?? .null,
                "p_value": verdict.pValue.map(JSON.double) ?? .null, "test": "two-sided two-proportion z-test, alpha 0.05",
                "champion": record(champion), "challenger": record(challenger)]
    }
}
