import ActorRuntime
import Foundation
import WavehostJSON
import WavehostRouting
import WavehostStore

/// Variants come from the store — the workflow file's, plus any added or changed since
/// (`wavehost variants …`) — and a change applies from the next interaction on.
extension Engine {
    /// Reads the workflow's variants; makes calls for new ones; swaps in the new weights,
    /// roles and shadows. A change that would leave a step without a live variant is refused.
    func refreshVariants(initial: Bool = false) throws {
        // A copy to work from unlocked: making a call can take seconds (a worker starts).
        let (plan, known, cached) = state.withLock { ($0.plan!, $0.knownVariants, Set($0.callCache.keys)) }
        let workflow = plan.workflow
        let rows = try store.variants(workflowID: plan.stored.id)
        guard rows != known else { return }
        var made: [Int64: any ActorCall] = [:]
        for row in rows where !row.retired && !cached.contains(row.id) && (row.mode == .shadow || row.weight > 0) {
            let variant = try definition(of: row, plan)
            // As many workers as the step's lane has threads: every thread can have a call under way.
            let threads = plan.index(of: row.step).map { plan.threads(forStep: $0, otherwise: options.concurrency) } ?? options.concurrency
            let call: ReloadableCall
            do { call = ReloadableCall(try catalog.makeCall(variant, concurrency: threads)) } catch {
                // Say which part of which workflow asked for it: the author fixes the file, not the plugin.
                let declared = variant.line > 0 ? " (line \(variant.line) of the workflow file)" : ""
                throw PluginError(error.code, path: error.path,
                                  "workflow \(workflow.name), step \(row.step)\(declared), variant \(row.actor): \(error.message)")
            }
            reloader?.track(call, variant: variant, concurrency: threads)
            made[row.id] = call
        }
        try state.withLock { s throws in try apply(rows, made: made, initial: initial, &s) }
    }

    private func apply(_ rows: [Store.StoredVariant], made: [Int64: any ActorCall], initial: Bool, _ s: inout State) throws {
        let workflow = s.workflow
        s.callCache.merge(made) { old, _ in old }
        let cache = s.callCache
        func choices(_ step: String, _ mode: Store.VariantMode) -> [Choice] {
            rows.filter { $0.step == step && $0.mode == mode && !$0.retired && (mode == .shadow || $0.weight > 0) }
                .compactMap { row in cache[row.id].map { (row.id, row.weight, $0) } }
        }
        let live = workflow.steps.map { choices($0.name, .live) }
        if let empty = live.firstIndex(where: \.isEmpty) {
            let reason = "step \(workflow.steps[empty].name) would have no live variant with a weight above 0"
            if initial { throw PluginError(.notFound, path: workflow.steps[empty].name, reason) }
            logger.warning("variant change not applied", metadata: ["reason": "\(reason)"])
            return
        }
        s.calls = live
        s.shadows = workflow.steps.map { choices($0.name, .shadow) }
        s.routers = zip(workflow.steps, live).map { step, choices in
            choices.count > 1 ? StickyRouter(step: step.name, variants: choices.map { .init(id: $0.variantID, weight: $0.weight) }) : nil
        }
        if !initial { logger.notice("variants changed; applied from the next interaction", metadata: ["workflow": "\(workflow.name)"]) }
        s.knownVariants = rows
    }

    /// The stored variant as the catalog takes it, with its own limits and grants. Grants are
    /// the operator's word in the workflow file only: stored when it is registered (a variant
    /// added later has none). Its line is its declaration's, found by id.
    func definition(of row: Store.StoredVariant, _ plan: Plan) throws(PluginError) -> WorkflowDefinition.Variant {
        if let limits = row.limits {
            // Written from a checked `limits` (the parser's or `--limits`), so this holds but for a row edited by hand.
            do { _ = try SandboxLimits(json: limits) } catch {
                throw PluginError(.createFailed, path: row.actor,
                                  "variant \(row.id) of step \(row.step) has invalid stored limits \(limits.text): \(error)")
            }
        }
        var grants = WorkflowDefinition.Grants.none
        if let stored = row.grants {
            // Written from the parser's checked grants, so this holds but for a row edited by hand.
            do { grants = try WorkflowDefinition.Grants(json: stored) } catch {
                throw PluginError(.createFailed, path: row.actor,
                                  "variant \(row.id) of step \(row.step) has invalid stored grants \(stored.text): \(error)")
            }
        }
        let position = plan.stored.variantIDs[row.step]?.firstIndex(of: row.id)
        let declared = position.flatMap { plan.workflow.step(named: row.step)?.variants[$0] }
        return WorkflowDefinition.Variant(
            actor: row.actor, config: row.config, role: .init(row.role), weight: row.weight, mode: .init(row.mode),
            isolation: .init(row.isolation), limits: row.limits, grants: grants, line: declared?.line ?? 0)
    }
}
