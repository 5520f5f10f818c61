import Foundation
import WavehostRouting
import WavehostStore

/// The engine's shared state, and what each thread takes with it.
extension Engine {
    /// A step's variant as routing picks it: its id, weight and call.
    typealias Choice = (variantID: Int64, weight: Int, call: any ActorCall)

    /// What `prepare` fixes for one workflow; immutable, so threads read it without the lock.
    struct Plan: Sendable {
        let workflow: WorkflowDefinition
        let stored: StoredWorkflow
        let stepIDs: [Int64]
        let lanes: [Lane]
        /// Per step, the model it asks its endpoint for ("" for none): endpoint lanes group by it.
        let models: [String]
        /// Per step, the steps it depends on directly or through others: their outputs are its input.
        let ancestry: [[Int]]
    }

    /// What a thread of one `run` works with: taken under the lock when it starts.
    struct Context: Sendable {
        let plan: Plan
        let journal: Journal
    }

    /// Everything the run loop, the worker threads, the watchdog and the journal's callback
    /// share, held in the engine's `state` lock: the compiler sees that nothing reaches it
    /// without the lock.
    struct State: Sendable {
        /// Set by `prepare`; kept while the engine is kept for the same source.
        var plan: Plan!
        var journal: Journal!
        var calls: [[Choice]] = []
        var routers: [StickyRouter?] = []
        /// Per step, the shadow variants that also run on each live input (never feeding on).
        var shadows: [[Choice]] = []
        /// The variants as last read from the store, and a call for each one in use so far.
        var knownVariants: [Store.StoredVariant] = []
        var callCache: [Int64: any ActorCall] = [:]
        /// The runs this host holds, by run id (the key of their ``RunRef``).
        var active: [Int64: UInt64] = [:]
        /// Active runs, and ended or lost ones whose work is still queued or under way (``RunState/holds``).
        var runs: [UInt64: RunState] = [:]
        var nextRunKey: UInt64 = 0
        var ready: [[QueuedStep]] = []
        var queueOrder: UInt64 = 0
        /// Per lane, threads waiting for work.
        var idleThreads: [Int] = []
        var delayed: [(due: ContinuousClock.Instant, run: RunRef, step: Int)] = []
        var inFlight: [Int64: InFlight] = [:]
        var awaitingCommit: [Int64: Outcome] = [:]
        var ids: Range<Int64> = 0..<0
        var progress = Progress()
        var stopping = false
        var workers = 0
        /// Counts `run`s: a thread of an earlier run that wakes late leaves instead of joining this one.
        var generation = 0
        /// The source the engine was prepared for; a later `run` with it reuses calls and routers.
        var preparedSource: String?
        /// Set by `drain`: no interaction starts; those under way end by `drainDeadline` or are interrupted.
        var draining = false
        var drainDeadline = ContinuousClock.Instant.now
        /// Per (variant, version), its instruments; per ended interaction awaiting its commit, whose they are.
        var instruments: [String: InteractionInstruments] = [:]
        var metered: [Int64: InteractionInstruments] = [:]

        var workflow: WorkflowDefinition { plan.workflow }

        /// Whether `run` is still one this host holds (not ended, not lost, not held anew).
        func isActive(_ run: RunRef) -> Bool { active[run.id] == run.key }

        /// Takes on a claimed run; returns how its work will name it.
        mutating func adopt(id: Int64, subject: Subject) -> RunRef {
            nextRunKey += 1
            let ref = RunRef(key: nextRunKey, id: id, subject: subject)
            active[id] = ref.key
            runs[ref.key] = RunState(ref, stepCount: workflow.steps.count)
            return ref
        }

        /// Ends `run` here (finished, failed or lost); it is forgotten once no work holds it.
        mutating func end(_ run: RunRef) {
            if isActive(run) { active[run.id] = nil }
            forgetIfEnded(run)
        }

        /// Work of `run` ends: its hold is given back.
        mutating func letGo(_ run: RunRef) {
            runs[run.key]?.holds -= 1
            forgetIfEnded(run)
        }

        /// What a waiting step of `run` does next. A read apart from `schedule`'s writes, so
        /// they change the run's steps in place.
        func move(_ run: RunRef, step index: Int) -> Move {
            let steps = runs[run.key]!.steps
            let step = workflow.steps[index]
            let dependencies = step.after.compactMap { plan.index(of: $0) }
            guard dependencies.allSatisfy({ steps[$0].phase == .done || steps[$0].phase == .skipped }) else { return .wait }
            if let skippedDependency = dependencies.first(where: { steps[$0].phase == .skipped }) {
                return .skip("step \(workflow.steps[skippedDependency].name) was skipped")
            }
            if let condition = step.condition, let source = plan.index(of: condition.step),
               !condition.holds(for: steps[source].output ?? .null) {
                return .skip("condition on \(condition.step).\(condition.field.joined(separator: ".")) did not hold")
            }
            return steps[index].final || steps[index].failures >= step.retry.attempts ? .fail : .queue
        }

        enum Move { case wait, skip(String), fail, queue }

        private mutating func forgetIfEnded(_ run: RunRef) {
            if !isActive(run), (runs[run.key]?.holds ?? 0) <= 0 { runs[run.key] = nil }
        }
    }
}
