import Foundation
import WavehostJSON
import WavehostRouting
import WavehostSandbox
import WavehostStore

/// Which steps are ready, which worker takes what, and what happens when a result lands.
extension Engine {
    /// A call under way, watched for its deadline.
    struct InFlight: Sendable {
        let run: RunRef
        let step: Int
        let deadline: ContinuousClock.Instant
        let inProcess: Bool
        let start: InteractionStart
        /// A shadow run: recorded, never fed on.
        var shadow = false
        /// The version serving it: told when the watchdog abandons an in-process call.
        var version: (any ActorCall)?
    }

    /// An ended call waiting for its commit.
    struct Outcome: Sendable {
        let run: RunRef
        let step: Int
        let output: JSON?
        let retryable: Bool
    }

    /// Queues every step of `run` whose dependencies are done, skips those whose condition
    /// does not hold, and finishes the run when nothing is left. Called under the lock.
    func schedule(_ run: RunRef, _ s: inout State) {
        let workflow = s.workflow
        for index in workflow.steps.indices where s.runs[run.key]!.steps[index].phase == .waiting {
            switch s.move(run, step: index) {
            case .wait: continue
            case .skip(let reason): skip(run, index, because: reason, &s)
            case .fail:
                fail(run, index, &s)
                return
            case .queue:
                s.runs[run.key]!.steps[index].phase = .queued
                s.runs[run.key]!.holds += 1
                s.enqueue(run, index)
            }
        }
        if s.runs[run.key]!.isFinished {
            s.progress.runsCompleted += 1
            s.journal.record(runID: run.id, failure: nil)
            s.end(run)
        }
    }

    /// Why an actor that touches the outside world itself was not called.
    static func noExternalEffects(_ actor: String, in kind: String) -> String {
        "actor \(actor) declares external effects (WH_CAP_EXTERNAL_EFFECTS): it never runs in \(kind) runs"
    }

    private func skip(_ run: RunRef, _ index: Int, because reason: String, _ s: inout State) {
        s.runs[run.key]!.steps[index].phase = .skipped
        s.journal.record(event: EventRecord(kind: "step_skipped", cause: reason, interactionID: nil, payload: JSON.object([
            ("run", .integer(run.id)), ("subject", .string(run.subject.key)), ("step", .string(s.workflow.steps[index].name)),
        ]).text))
    }

    private func fail(_ run: RunRef, _ index: Int, _ s: inout State) {
        let step = s.workflow.steps[index]
        s.runs[run.key]!.steps[index].phase = .failed
        s.progress.runsFailed += 1
        let state = s.runs[run.key]!.steps[index]
        let attempts = state.failures
        if let failure = state.failure {
            s.journal.record(runID: run.id, failure: "step \(step.name) failed: \(failure)")
        } else {
            s.journal.record(runID: run.id, failure: "step \(step.name) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(state.lastError ?? "unknown error")")
        }
        s.end(run)
    }

    /// Starts a thread for `lane` of run `generation`. Called under the lock.
    func startWorker(lane: Int, generation: Int, _ context: Context, _ s: inout State) {
        s.workers += 1
        let thread = Thread { [self] in work(in: lane, generation: generation, context) }
        thread.name = "wavehost-worker"
        thread.start()
    }

    /// A worker's life: take the next ready step of its lane (see `nextStep`), run it, repeat.
    private func work(in laneIndex: Int, generation: Int, _ context: Context) {
        let lane = context.plan.lanes[laneIndex]
        var last = lane.steps[0]
        var idle = false
        while true {
            // One acquisition from the end of a call to the start of the next, as the waits release it.
            let taken: (run: RunRef, step: Int)? = state.withLock(looping: { (s: inout State) -> LockTurn<(run: RunRef, step: Int)?> in
                if idle { s.idleThreads[laneIndex] -= 1; idle = false }
                guard !s.stopping && s.generation == generation else {
                    s.workers -= 1
                    return .done(nil)
                }
                releaseDueRetries(&s)
                // Draining: nothing new starts (a run's next step waits for the next host).
                guard !s.draining, let step = s.nextStep(inLane: laneIndex, last: last, lastModel: context.plan.models[last]) else {
                    s.idleThreads[laneIndex] += 1
                    idle = true
                    return .wait(until: Date(timeIntervalSinceNow: s.delayed.isEmpty ? 0.5 : 0.01))
                }
                last = step
                let run = s.ready[step].removeFirst().run
                if s.runs[run.key]!.lost {  // taken over by another host: nothing more of it runs here
                    s.letGo(run)
                    return .again
                }
                if case .endpoint = lane.kind, lane.steps.count > 1 { state.broadcast() }  // idle threads take its siblings
                s.runs[run.key]!.steps[step].phase = .running
                return .done((run, step))
            })
            guard let taken else { return }
            if execute(taken.run, taken.step, context) {
                // The watchdog already started a replacement, or the engine drains.
                state.withLock { $0.workers -= 1 }
                return
            }
        }
    }

    private func releaseDueRetries(_ s: inout State) {
        guard !s.delayed.isEmpty else { return }
        let now = ContinuousClock.now
        let due = s.delayed.filter { $0.due <= now }
        guard !due.isEmpty else { return }
        s.delayed.removeAll { $0.due <= now }
        for entry in due { s.enqueue(entry.run, entry.step) }
        state.broadcast()  // a retry may belong to another lane's threads
    }

    /// What `execute` found under the lock: the call to make, or why none.
    private enum Start {
        case skipped
        case call(state: RunState.StepState, dependencies: [(String, JSON)], variant: Choice, shadows: [Choice], id: Int64)
    }

    /// Runs one interaction; returns true when the watchdog gave up on it meanwhile.
    private func execute(_ run: RunRef, _ index: Int, _ context: Context) -> Bool {
        let (plan, journal) = (context.plan, context.journal)
        let step = plan.workflow.steps[index]
        let found = state.withLock { (s: inout State) -> Start in
            // Gone only if this thread's `run` ended meanwhile and another began.
            guard let held = s.runs[run.key] else { return .skipped }
            let state = held.steps[index]
            let dependencies = plan.ancestry[index].map { (plan.workflow.steps[$0].name, held.steps[$0].output ?? .null) }
            let variant = choose(run, from: s.calls[index], router: s.routers[index])
            // Read under the lock: refreshVariants replaces the shadows while calls run.
            let stepShadows = s.shadows[index]
            if plan.workflow.environment == .test && variant.call.externalEffects {  // no lock taken in production
                skip(run, index, because: Self.noExternalEffects(variant.call.actor, in: "test"), &s)
                schedule(run, &s)
                s.letGo(run)
                return .skipped
            }
            guard let id = nextID(&s) else {
                // No id, no record: the step waits a second for the store (the error is reported).
                s.runs[run.key]!.steps[index].phase = .queued
                s.delayed.append((.now + .seconds(1), run, index))
                return .skipped
            }
            return .call(state: state, dependencies: dependencies, variant: variant, shadows: stepShadows, id: id)
        }
        guard case .call(let state, let dependencies, let variant, let stepShadows, let id) = found else { return false }
        // The version that answers is the one recorded, even if a reload swaps it meanwhile.
        let version = variant.call.begin()
        defer { variant.call.end(version) }
        var cause = state.failures == 0 ? "first attempt" : "retry \(state.failures + 1) of \(step.retry.attempts) after: \(state.lastError ?? "")"
        if step.paging != nil { cause += ", page \(state.pages + 1)" }
        let input: [UInt8]
        var unavailable: String?
        do { input = try composeInput(run, step, namespace: plan.workflow.namespace, dependencies: dependencies, cursor: state.cursor, attempt: state.failures + 1) } catch {
            // The actor would be told "no such row" when the truth is "could not look": fail, to be retried.
            input = Array(#"{"subject":null}"#.utf8)
            unavailable = "the lookup in \(step.lookup?.table ?? "?") failed, so the actor was not called: \(error)"
        }
        let start = InteractionStart(
            id: id, runID: run.id, stepID: plan.stepIDs[index], variantID: variant.variantID, parentID: state.parent,
            actorSHA256: version.sha256, attempt: state.failures + 1, input: input, startedAt: Store.now(),
            owner: options.owner, cause: cause)
        let timeout = Duration.milliseconds(step.timeoutMilliseconds)
        if let unavailable {
            journal.record(start: start)
            finish(start, run: run, step: index, outcome: .failed(unavailable, retryable: true), latency: .zero, context)
            return false
        }
        if perform(start, on: version, run: run, step: index, timeout: timeout, shadow: false, context) { return true }
        for shadow in stepShadows where shadowCall(shadow, of: start, run: run, step: index, timeout: timeout, context) {
            return true
        }
        return false
    }

    /// Records `start`, calls `version` under the watchdog's eye, and hands the outcome on.
    /// Returns true when the watchdog gave up on the call meanwhile (it recorded the end),
    /// or when the engine drains and the call was not started.
    private func perform(_ start: InteractionStart, on version: any ActorCall, run: RunRef, step index: Int,
                         timeout: Duration, shadow: Bool, _ context: Context) -> Bool {
        // Checked where the call joins `inFlight`, under the same lock: the drain sees every
        // call that started, and none starts after it began.
        let started = state.withLock { s in
            if s.draining { return false }
            s.inFlight[start.id] = InFlight(run: run, step: index, deadline: .now + timeout + (version.runsInProcess ? .zero : options.grace),
                                            inProcess: version.runsInProcess, start: start, shadow: shadow, version: version)
            return true
        }
        guard started else { return true }
        context.journal.record(start: start)
        let clock = ContinuousClock()
        let began = clock.now
        let kind: NetworkGrant.Run = shadow ? .shadow : context.plan.workflow.environment == .test ? .test : .prod
        let (outcome, hostCalls) = HostCallLog.collecting(for: kind) { version.call(start.input, timeout: timeout) }
        let latency = clock.now - began
        // Read here, under the lock: other threads change the run's steps meanwhile (TSan saw it).
        // A run forgotten meanwhile (ended, for a shadow) reads as page 1, as it would have nothing to page.
        let page: Int? = state.withLock { s in
            guard s.inFlight.removeValue(forKey: start.id) != nil else { return nil }
            return (s.runs[run.key]?.steps[index].pages ?? 0) + 1
        }
        guard let page else { return true }
        finish(start, run: run, step: index, outcome: outcome, latency: latency, shadow: shadow, hostCalls: hostCalls, page: page, context)
        return false
    }

    /// Runs a shadow variant on the live call's input: its interaction names the live one
    /// as parent, its effects are recorded as skipped, and its output feeds nothing.
    /// Returns true when the watchdog gave up on it meanwhile.
    private func shadowCall(_ shadow: Choice, of live: InteractionStart, run: RunRef, step index: Int, timeout: Duration,
                            _ context: Context) -> Bool {
        if shadow.call.externalEffects {
            // Never called, and the record says why: a shadow must not touch the outside world.
            context.journal.record(event: EventRecord(kind: "shadow_skipped", cause: Self.noExternalEffects(shadow.call.actor, in: "shadow"),
                                                      interactionID: live.id, payload: JSON.object([
                ("run", .integer(run.id)), ("step", .string(context.plan.workflow.steps[index].name)), ("variant", .integer(shadow.variantID)),
            ]).text))
            return false
        }
        // A shadow is an extra: without an id (reported) it is skipped, the live call stands.
        guard let id = state.withLock({ nextID(&$0) }) else { return false }
        let version = shadow.call.begin()
        defer { shadow.call.end(version) }
        let start = InteractionStart(
            id: id, runID: run.id, stepID: context.plan.stepIDs[index], variantID: shadow.variantID, parentID: live.id,
            actorSHA256: version.sha256, attempt: 1, input: live.input, startedAt: Store.now(), owner: options.owner,
            cause: "shadow of interaction \(live.id)")
        return perform(start, on: version, run: run, step: index, timeout: timeout, shadow: true, context)
    }

    /// The live variant this run's subject meets at this step: sticky and weighted.
    private func choose(_ run: RunRef, from choices: [Choice], router: StickyRouter?) -> Choice {
        guard choices.count > 1, let router else { return choices[0] }
        let chosen = router.choose(run.subject.key).id
        return choices.first { $0.variantID == chosen } ?? choices[0]
    }

    /// The next interaction id; nil when the store cannot hand out a block (reported: the
    /// caller waits and tries again, for an id of 0 would be every failed reservation's).
    private func nextID(_ s: inout State) -> Int64? {
        if s.ids.isEmpty {
            // Under the lock: a store round trip once per ten thousand interactions.
            do { s.ids = try store.reserveInteractionIDs(10_000) } catch {
                logger.error("cannot reserve interaction ids", metadata: ["error": "\(error)"])
                options.reportIssue?("engine", "\(s.workflow.name): cannot reserve interaction ids: \(error)")
                return nil
            }
        }
        return s.ids.popFirst()
    }

    /// `{"subject": …, "trigger": …, "<ancestor>": its output, …, "attempt": 1, "cursor": …, "lookup": …}`,
    /// or the part of it the step's `input` path names. `attempt` counts from 1, so a retry
    /// can ask differently (the grader samples afresh).
    private func composeInput(_ run: RunRef, _ step: WorkflowDefinition.Step, namespace: String, dependencies: [(String, JSON)], cursor: JSON?,
                              attempt: Int) throws(StoreError) -> [UInt8] {
        var members: [(key: String, value: JSON)] = [("subject", run.subject.payload)]
        if let occasion = run.subject.occasion { members.append(("trigger", occasion.trigger)) }
        members += dependencies.map { (key: $0.0, value: $0.1) }
        members.append(("attempt", .integer(attempt)))
        if let cursor { members.append(("cursor", cursor)) }
        if let lookup = step.lookup {
            let key = run.subject.payload[lookup.key].flatMap { $0.stringValue ?? ($0.intValue.map(String.init)) }
            let table = TableSchema.qualified(lookup.table, in: namespace)
            let row = try key.map { key throws(StoreError) in try store.row(of: try store.tableSchema(table), key: key) } ?? nil
            members.append(("lookup", row ?? .null))
        }
        let composed = JSON.object(members)
        return (step.input.flatMap { composed.value(at: $0) } ?? composed).bytes
    }
}
