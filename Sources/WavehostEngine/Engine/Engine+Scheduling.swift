import Foundation
import WavehostJSON
import WavehostSandbox
import WavehostStore

/// Which steps are ready, which worker takes what, and what happens when a result lands.
extension Engine {
    /// A call under way, watched for its deadline.
    struct InFlight {
        let run: RunState
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
    struct Outcome {
        let run: RunState
        let step: Int
        let output: JSON?
        let retryable: Bool
    }

    /// Queues every step of `run` whose dependencies are done, skips those whose condition
    /// does not hold, and finishes the run when nothing is left. Called under `lock`.
    func schedule(_ run: RunState) {
        for (index, step) in workflow.steps.enumerated() where run.steps[index].phase == .waiting {
            let dependencies = step.after.compactMap { self.index(of: $0) }
            guard dependencies.allSatisfy({ run.steps[$0].phase == .done || run.steps[$0].phase == .skipped }) else { continue }
            if let skippedDependency = dependencies.first(where: { run.steps[$0].phase == .skipped }) {
                skip(run, index, because: "step \(workflow.steps[skippedDependency].name) was skipped")
            } else if let condition = step.condition, let source = self.index(of: condition.step),
                      !condition.holds(for: run.steps[source].output ?? .null) {
                skip(run, index, because: "condition on \(condition.step).\(condition.field.joined(separator: ".")) did not hold")
            } else if run.steps[index].final || run.steps[index].failures >= step.retry.attempts {
                fail(run, index)
                return
            } else {
                run.steps[index].phase = .queued
                enqueue(run, index)
            }
        }
        if run.isFinished {
            active[run.id] = nil
            progress.runsCompleted += 1
            journal.record(runID: run.id, failure: nil)
        }
    }

    func index(of step: String) -> Int? { workflow.steps.firstIndex { $0.name == step } }

    /// Why an actor that touches the outside world itself was not called.
    static func noExternalEffects(_ actor: String, in kind: String) -> String {
        "actor \(actor) declares external effects (WH_CAP_EXTERNAL_EFFECTS): it never runs in \(kind) runs"
    }

    private func skip(_ run: RunState, _ index: Int, because reason: String) {
        run.steps[index].phase = .skipped
        journal.record(event: EventRecord(kind: "step_skipped", cause: reason, interactionID: nil, payload: JSON.object([
            ("run", .integer(run.id)), ("subject", .string(run.subject.key)), ("step", .string(workflow.steps[index].name)),
        ]).text))
    }

    private func fail(_ run: RunState, _ index: Int) {
        let step = workflow.steps[index]
        run.steps[index].phase = .failed
        active[run.id] = nil
        progress.runsFailed += 1
        let attempts = run.steps[index].failures
        if let failure = run.steps[index].failure {
            journal.record(runID: run.id, failure: "step \(step.name) failed: \(failure)")
            return
        }
        journal.record(runID: run.id, failure: "step \(step.name) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(run.steps[index].lastError ?? "unknown error")")
    }

    /// Starts a thread for `lane` of run `generation`. Called under `lock`.
    func startWorker(lane: Int, generation: Int) {
        workers += 1
        let thread = Thread { [self] in work(in: lane, generation: generation) }
        thread.name = "wavehost-worker"
        thread.start()
    }

    /// A worker's life: take the next ready step of its lane (see `nextStep`), run it, repeat.
    private func work(in laneIndex: Int, generation: Int) {
        lock.lock()
        let lane = lanes[laneIndex]
        var last = lane.steps[0]
        while !stopping && self.generation == generation {
            releaseDueRetries()
            // Draining: nothing new starts (a run's next step waits for the next host).
            guard !draining, let step = nextStep(inLane: laneIndex, last: last, lastModel: models[last]) else {
                idleThreads[laneIndex] += 1
                _ = lock.wait(until: Date(timeIntervalSinceNow: delayed.isEmpty ? 0.5 : 0.01))
                idleThreads[laneIndex] -= 1
                continue
            }
            last = step
            let run = ready[step].removeFirst().run
            if run.lost { continue }  // taken over by another host: nothing more of it runs here
            if case .endpoint = lane.kind, lane.steps.count > 1 { lock.broadcast() }  // idle threads take its siblings
            run.steps[step].phase = .running
            lock.unlock()
            let abandoned = execute(run, step)
            lock.lock()
            if abandoned { break }  // the watchdog already started a replacement, or the engine drains
        }
        workers -= 1
        lock.unlock()
    }

    private func releaseDueRetries() {
        guard !delayed.isEmpty else { return }
        let now = ContinuousClock.now
        let due = delayed.filter { $0.due <= now }
        guard !due.isEmpty else { return }
        delayed.removeAll { $0.due <= now }
        for entry in due { enqueue(entry.run, entry.step) }
        lock.broadcast()  // a retry may belong to another lane's threads
    }

    /// Runs one interaction; returns true when the watchdog gave up on it meanwhile.
    private func execute(_ run: RunState, _ index: Int) -> Bool {
        let step = workflow.steps[index]
        lock.lock()
        let state = run.steps[index]
        let dependencies = ancestry[index].map { (workflow.steps[$0].name, run.steps[$0].output ?? .null) }
        let variant = choose(run, index)
        // Read under the lock: refreshVariants replaces the shadows while calls run.
        let stepShadows = shadows[index]
        if workflow.environment == .test && variant.call.externalEffects {  // no lock taken in production
            skip(run, index, because: Self.noExternalEffects(variant.call.actor, in: "test"))
            schedule(run)
            lock.unlock()
            return false
        }
        guard let id = nextID() else {
            // No id, no record: the step waits a second for the store (the error is reported).
            run.steps[index].phase = .queued
            delayed.append((.now + .seconds(1), run, index))
            lock.unlock()
            return false
        }
        lock.unlock()
        // The version that answers is the one recorded, even if a reload swaps it meanwhile.
        let version = variant.call.begin()
        defer { variant.call.end(version) }
        var cause = state.failures == 0 ? "first attempt" : "retry \(state.failures + 1) of \(step.retry.attempts) after: \(state.lastError ?? "")"
        if step.paging != nil { cause += ", page \(state.pages + 1)" }
        let input: [UInt8]
        var unavailable: String?
        do { input = try composeInput(run, step, dependencies: dependencies, cursor: state.cursor, attempt: state.failures + 1) } catch {
            // The actor would be told "no such row" when the truth is "could not look": fail, to be retried.
            input = Array(#"{"subject":null}"#.utf8)
            unavailable = "the lookup in \(step.lookup?.table ?? "?") failed, so the actor was not called: \(error)"
        }
        let start = InteractionStart(
            id: id, runID: run.id, stepID: stepIDs[index], variantID: variant.variantID, parentID: state.parent,
            actorSHA256: version.sha256, attempt: state.failures + 1, input: input, startedAt: Store.now(),
            owner: options.owner, cause: cause)
        let timeout = Duration.milliseconds(step.timeoutMilliseconds)
        if let unavailable {
            journal.record(start: start)
            finish(start, run: run, step: index, outcome: .failed(unavailable, retryable: true), latency: .zero)
            return false
        }
        if perform(start, on: version, run: run, step: index, timeout: timeout, shadow: false) { return true }
        for shadow in stepShadows where shadowCall(shadow, of: start, run: run, step: index, timeout: timeout) {
            return true
        }
        return false
    }

    /// Records `start`, calls `version` under the watchdog's eye, and hands the outcome on.
    /// Returns true when the watchdog gave up on the call meanwhile (it recorded the end),
    /// or when the engine drains and the call was not started.
    private func perform(_ start: InteractionStart, on version: any ActorCall, run: RunState, step index: Int,
                         timeout: Duration, shadow: Bool) -> Bool {
        lock.lock()
        // Checked where the call joins `inFlight`, under the same lock: the drain sees every
        // call that started, and none starts after it began.
        if draining {
            lock.unlock()
            return true
        }
        inFlight[start.id] = InFlight(run: run, step: index, deadline: .now + timeout + (version.runsInProcess ? .zero : options.grace),
                                      inProcess: version.runsInProcess, start: start, shadow: shadow, version: version)
        lock.unlock()
        journal.record(start: start)
        let clock = ContinuousClock()
        let began = clock.now
        let kind: NetworkGrant.Run = shadow ? .shadow : workflow.environment == .test ? .test : .prod
        let (outcome, hostCalls) = HostCallLog.collecting(for: kind) { version.call(start.input, timeout: timeout) }
        let latency = clock.now - began
        lock.lock()
        guard inFlight.removeValue(forKey: start.id) != nil else {
            lock.unlock()
            return true
        }
        // Read here, under the lock: other threads change the run's steps meanwhile (TSan saw it).
        let page = run.steps[index].pages + 1
        lock.unlock()
        finish(start, run: run, step: index, outcome: outcome, latency: latency, shadow: shadow, hostCalls: hostCalls, page: page)
        return false
    }

    /// Runs a shadow variant on the live call's input: its interaction names the live one
    /// as parent, its effects are recorded as skipped, and its output feeds nothing.
    /// Returns true when the watchdog gave up on it meanwhile.
    private func shadowCall(_ shadow: (variantID: Int64, weight: Int, call: any ActorCall), of live: InteractionStart,
                            run: RunState, step index: Int, timeout: Duration) -> Bool {
        if shadow.call.externalEffects {
            // Never called, and the record says why: a shadow must not touch the outside world.
            journal.record(event: EventRecord(kind: "shadow_skipped", cause: Self.noExternalEffects(shadow.call.actor, in: "shadow"),
                                              interactionID: live.id, payload: JSON.object([
                ("run", .integer(run.id)), ("step", .string(workflow.steps[index].name)), ("variant", .integer(shadow.variantID)),
            ]).text))
            return false
        }
        lock.lock()
        let id = nextID()
        lock.unlock()
        // A shadow is an extra: without an id (reported) it is skipped, the live call stands.
        guard let id else { return false }
        let version = shadow.call.begin()
        defer { shadow.call.end(version) }
        let start = InteractionStart(
            id: id, runID: run.id, stepID: stepIDs[index], variantID: shadow.variantID, parentID: live.id,
            actorSHA256: version.sha256, attempt: 1, input: live.input, startedAt: Store.now(), owner: options.owner,
            cause: "shadow of interaction \(live.id)")
        return perform(start, on: version, run: run, step: index, timeout: timeout, shadow: true)
    }

    /// The live variant this run's subject meets at this step: sticky and weighted.
    private func choose(_ run: RunState, _ index: Int) -> (variantID: Int64, weight: Int, call: any ActorCall) {
        let choices = calls[index]
        guard choices.count > 1, let router = routers[index] else { return choices[0] }
        let chosen = router.choose(run.subject.key).id
        return choices.first { $0.variantID == chosen } ?? choices[0]
    }

    /// The next interaction id; nil when the store cannot hand out a block (reported: the
    /// caller waits and tries again, for an id of 0 would be every failed reservation's).
    private func nextID() -> Int64? {
        if ids.isEmpty {
            // Under the lock: a store round trip once per ten thousand interactions.
            do { ids = try store.reserveInteractionIDs(10_000) } catch {
                logger.error("cannot reserve interaction ids", metadata: ["error": "\(error)"])
                options.reportIssue?("engine", "\(workflow.name): cannot reserve interaction ids: \(error)")
                return nil
            }
        }
        return ids.popFirst()
    }

    /// `{"subject": …, "<ancestor>": its output, …, "attempt": 1, "cursor": …, "lookup": …}`,
    /// or the part of it the step's `input` path names. `attempt` counts from 1, so a retry
    /// can ask differently (the grader samples afresh).
    private func composeInput(_ run: RunState, _ step: WorkflowDefinition.Step, dependencies: [(String, JSON)], cursor: JSON?,
                              attempt: Int) throws(StoreError) -> [UInt8] {
        var members: [(key: String, value: JSON)] = [("subject", run.subject.payload)]
        members += dependencies.map { (key: $0.0, value: $0.1) }
        members.append(("attempt", .integer(attempt)))
        if let cursor { members.append(("cursor", cursor)) }
        if let lookup = step.lookup {
            let key = run.subject.payload[lookup.key].flatMap { $0.stringValue ?? ($0.intValue.map(String.init)) }
            let table = lookup.table.contains(".") ? lookup.table : "\(workflow.namespace).\(lookup.table)"
            let row = try key.map { key throws(StoreError) in try store.row(of: try store.tableSchema(table), key: key) } ?? nil
            members.append(("lookup", row ?? .null))
        }
        let composed = JSON.object(members)
        return (step.input.flatMap { composed.value(at: $0) } ?? composed).bytes
    }
}
