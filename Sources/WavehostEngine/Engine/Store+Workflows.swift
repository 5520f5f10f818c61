import WavehostRouting
import WavehostStore

/// The engine's words mapped to the store's: a workflow definition becomes the store's
/// ``WorkflowRecord``, and the store's counts become Routing's ``VariantRecord``.
extension Store {
    /// Records `workflow` (its file's text is `source`) with its steps and variants, once
    /// per distinct text; returns the ids either way.
    /// Its declared tables are created or evolved first (refused, nothing is registered).
    public func registerWorkflow(_ workflow: WorkflowDefinition, source: String) throws(StoreError) -> StoredWorkflow {
        try declareTables(workflow.tables, workflow: workflow.name)
        let record = WorkflowRecord(workflow)
        let stored = try registerWorkflow(record, source: source)
        try recordGrants(of: record, stored)
        return stored
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
                     Variant(variant)
                 })
        })
    }
}

extension WorkflowRecord.Variant {
    /// The store's record of a variant the engine defines (a workflow file's, or one
    /// `wavehost variants add` builds).
    public init(_ variant: WorkflowDefinition.Variant) {
        self.init(actor: variant.actor, config: variant.config, role: Store.VariantRole(variant.role), weight: variant.weight,
                  mode: Store.VariantMode(variant.mode), isolation: Store.VariantIsolation(variant.isolation), limits: variant.limits,
                  grants: variant.grants.json)
    }
}

// One case for one case, both ways: a case added on either side fails to compile here.
extension Store.VariantRole {
    init(_ role: WorkflowDefinition.Variant.Role) {
        switch role { case .champion: self = .champion; case .challenger: self = .challenger }
    }
}

extension WorkflowDefinition.Variant.Role {
    init(_ role: Store.VariantRole) {
        switch role { case .champion: self = .champion; case .challenger: self = .challenger }
    }
}

extension VariantRecord.Role {
    init(_ role: Store.VariantRole) {
        switch role { case .champion: self = .champion; case .challenger: self = .challenger }
    }
}

extension Store.VariantMode {
    init(_ mode: WorkflowDefinition.Variant.Mode) {
        switch mode { case .live: self = .live; case .shadow: self = .shadow }
    }
}

extension WorkflowDefinition.Variant.Mode {
    init(_ mode: Store.VariantMode) {
        switch mode { case .live: self = .live; case .shadow: self = .shadow }
    }
}

extension Store.VariantIsolation {
    init(_ isolation: WorkflowDefinition.Variant.Isolation) {
        switch isolation { case .process: self = .process; case .inprocess: self = .inprocess }
    }
}

extension WorkflowDefinition.Variant.Isolation {
    init(_ isolation: Store.VariantIsolation) {
        switch isolation { case .process: self = .process; case .inprocess: self = .inprocess }
    }
}

extension VariantRecord {
    init(_ counts: Store.VariantCounts) {
        self.init(variantID: counts.variantID, actor: counts.actor, role: Role(counts.role), weight: counts.weight, finished: counts.finished,
                  completed: counts.completed, p50Milliseconds: counts.p50Milliseconds, p95Milliseconds: counts.p95Milliseconds)
    }
}
