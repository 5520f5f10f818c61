import WavehostRouting
import WavehostStore

/// The engine's words mapped to the store's: a workflow definition becomes the store's
/// ``WorkflowRecord``, and the store's counts become Routing's ``VariantRecord``.
extension Store {
    /// Records `workflow` (its file's text is `source`) with its steps and variants, once
    /// per distinct text; returns the ids either way.
    public func registerWorkflow(_ workflow: WorkflowDefinition, source: String) throws(StoreError) -> StoredWorkflow {
        try registerWorkflow(WorkflowRecord(workflow), source: source)
    }

    /// Each live variant's record at `step` of the newest version of `workflow`, counting
    /// interactions started at or after `since` (Unix ms; all by default).
    public func variantRecords(workflow: String, step: String, since: Int64 = 0) throws(StoreError) -> [VariantRecord] {
        try variantCounts(workflow: workflow, step: step, since: since).map(VariantRecord.init)
    }
}

extension WorkflowRecord {
    init(_ workflow: WorkflowDefinition) {
        self.init(name: workflow.name, environment: workflow.environment.rawValue, steps: workflow.steps.map { step in
            Step(name: step.name, after: step.after, timeoutMilliseconds: step.timeoutMilliseconds, retries: step.retry.attempts - 1,
                 variants: step.variants.map { variant in
                     Variant(actor: variant.actor, config: variant.config, role: variant.role.rawValue, weight: variant.weight,
                             mode: variant.mode.rawValue, isolation: variant.isolation.rawValue)
                 })
        })
    }
}

extension VariantRecord {
    init(_ counts: Store.VariantCounts) {
        self.init(variantID: counts.variantID, actor: counts.actor, role: counts.role, weight: counts.weight, finished: counts.finished,
                  completed: counts.completed, p50Milliseconds: counts.p50Milliseconds, p95Milliseconds: counts.p95Milliseconds)
    }
}
