import Foundation
import WavehostJSON
import WavehostSandbox
import WavehostStore

/// From an actor's answer to a durable result: checks, effects, retries, the watchdog.
extension Engine {
    /// Turns a call's outcome into the interaction's end and hands it to the journal.
    /// `page` is the paged step's page this output is (its `pages` + 1, read under the lock
    /// by the caller); nil reads it here.
    func finish(_ start: InteractionStart, run: RunRef, step index: Int, outcome: CallOutcome, latency: Duration, shadow: Bool = false,
                hostCalls: [HostCallRecord] = [], page: Int? = nil, _ context: Context) {
        let workflow = context.plan.workflow
        let step = workflow.steps[index]
        var status = InteractionStatus.completed
        var output: [UInt8]?
        var parsed: JSON?
        var reason: String?
        var retryable = false
        var effects: [Effect] = []
        switch outcome {
        case .output(let bytes):
            output = bytes
            if bytes.count > options.maxOutputBytes {
                (status, reason, retryable) = (.failed, "output of \(bytes.count) bytes is over the limit of \(options.maxOutputBytes) bytes", true)
            } else {
                do {
                    let json = try JSON.parse(bytes)
                    parsed = json
                    let pageNumber = page ?? state.withLock { ($0.runs[run.key]?.steps[index].pages ?? 0) + 1 }
                    effects = try Effects.from(json, step: step, subject: run.subject.key, page: pageNumber, workflow: workflow,
                                               subjectRow: run.subject.payload)
                } catch let failure as Effects.Refusal {
                    (status, reason) = (.failed, failure.reason)
                } catch {
                    (status, reason, retryable) = (.failed, "output is not JSON: \(error)", true)
                }
            }
        case .failed(let message, let canRetry):
            (status, reason, retryable) = (.failed, message, canRetry)
        case .timedOut(let message):
            (status, reason, retryable) = (.timedOut, message, true)
        }
        if status != .completed { output = nil }
        let finish = InteractionFinish(
            id: start.id, status: status, output: output, error: reason, completedAt: Store.now(),
            latencyMicroseconds: latency.microseconds, effects: effects, applyEffects: workflow.environment == .prod && !shadow,
            hostCallEvents: hostCalls.map { $0.event(interaction: start.id) }, runID: start.runID)
        state.withLock { s in
            if !shadow { s.awaitingCommit[start.id] = Outcome(run: run, step: index, output: parsed, retryable: retryable) }
            let meter = instruments(for: start, step: index, &s)
            s.metered[start.id] = meter
        }
        context.journal.record(finish: finish)
    }

    /// Called by the journal once `finishes` are durable: advances each run. Runs in `lost`
    /// were taken over by another host (this one's lease lapsed): they are dropped here, and
    /// their ends in `finishes` were not written.
    func committed(_ finishes: [InteractionFinish], _ refused: [Int64: String], _ lost: Set<Int64>) {
        state.withLock { s in
            advance(finishes, refused, lost, &s)
            state.broadcast()
        }
    }

    private func advance(_ finishes: [InteractionFinish], _ refused: [Int64: String], _ lost: Set<Int64>, _ s: inout State) {
        for id in lost {
            guard let key = s.active[id], let run = s.runs[key]?.ref else { continue }
            s.runs[key]!.lost = true
            s.end(run)
            s.progress.runsLost += 1
            logger.warning("lost a run to another host (its lease lapsed)", metadata: ["run": "\(id)"])
        }
        for finish in finishes {
            if lost.contains(finish.runID) {
                s.metered[finish.id] = nil
                if let outcome = s.awaitingCommit.removeValue(forKey: finish.id) { s.letGo(outcome.run) }
                continue
            }
            // Counted once durable, with the status the store holds (a refused effect fails it).
            s.metered.removeValue(forKey: finish.id)?.record(refused[finish.id] == nil ? finish.status : .failed,
                                                            latencyMicroseconds: finish.latencyMicroseconds)
            guard let outcome = s.awaitingCommit.removeValue(forKey: finish.id) else { continue }
            // This work's hold ends here, unless it is queued again (a next page, a retry).
            if advance(outcome, finish, refused: refused[finish.id], &s) { s.letGo(outcome.run) }
        }
    }

    /// Moves `outcome`'s run on from its committed `finish`; returns false when the step is queued again.
    private func advance(_ outcome: Outcome, _ finish: InteractionFinish, refused: String?, _ s: inout State) -> Bool {
        let run = outcome.run
        let index = outcome.step
        guard s.runs[run.key] != nil else { return false }  // an earlier `run`'s, ended with it
        let step = s.workflow.steps[index]
        s.runs[run.key]!.steps[index].parent = finish.id
        let finished = !s.isActive(run)  // failed meanwhile by a sibling step
        if finish.status == .completed && refused == nil {
            s.progress.interactionsCompleted += 1
            if finished { return true }
            s.runs[run.key]!.steps[index].failures = 0
            s.runs[run.key]!.steps[index].output = outcome.output
            if let paging = step.paging {
                s.runs[run.key]!.steps[index].pages += 1
                let next = outcome.output?.value(at: paging)
                if let next, next != .null {
                    s.runs[run.key]!.steps[index].cursor = next
                    s.runs[run.key]!.steps[index].phase = .queued
                    s.enqueue(run, index)
                    return false
                }
            }
            s.runs[run.key]!.steps[index].phase = .done
            schedule(run, &s)
            return true
        }
        s.progress.interactionsFailed += 1
        if finished { return true }
        let reason = refused ?? finish.error ?? "failed"
        s.runs[run.key]!.steps[index].failures += 1
        s.runs[run.key]!.steps[index].lastError = reason
        let failures = s.runs[run.key]!.steps[index].failures
        // A refused effect may clear on retry (a lookup then sees the row that won).
        let retryable = outcome.retryable || refused != nil
        if retryable && failures < step.retry.attempts {
            let backoff = Duration.milliseconds(step.retry.backoffMilliseconds) * (1 << min(failures - 1, 16))
            s.runs[run.key]!.steps[index].phase = .queued
            s.delayed.append((.now + backoff, run, index))
            s.journal.record(event: EventRecord(kind: "retry_scheduled", cause: reason, interactionID: finish.id, payload: JSON.object([
                ("attempt", .integer(failures + 1)), ("of", .integer(step.retry.attempts)),
                ("backoff_ms", .integer(backoff.milliseconds)),
            ]).text))
            return false
        }
        s.runs[run.key]!.steps[index].final = true
        s.runs[run.key]!.steps[index].phase = .waiting
        schedule(run, &s)
        return true
    }

    /// Fails calls past their deadline. An in-process call cannot be stopped, so its
    /// thread is abandoned (its answer, if one comes, is dropped) and replaced.
    func watch(generation: Int, _ context: Context) {
        var waited = false
        while true {
            // Every 50 ms, the calls past their deadline, taken out of `inFlight` at once.
            let found = state.withLock(looping: { (s: inout State) -> LockTurn<(now: ContinuousClock.Instant, overdue: [(Int64, InFlight)])?> in
                if waited {
                    waited = false
                    let now = ContinuousClock.now
                    let overdue = s.inFlight.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }
                    if !overdue.isEmpty {
                        for (id, _) in overdue { s.inFlight[id] = nil }
                        return .done((now, overdue.map { ($0.key, $0.value) }))
                    }
                }
                guard !s.stopping && s.generation == generation else { return .done(nil) }
                waited = true
                return .wait(until: Date(timeIntervalSinceNow: 0.05))
            })
            guard let (now, overdue) = found else { return }
            for (_, call) in overdue { abandon(call, now: now, generation: generation, context) }
        }
    }

    private func abandon(_ call: InFlight, now: ContinuousClock.Instant, generation: Int, _ context: Context) {
        let step = context.plan.workflow.steps[call.step]
        if call.inProcess, let version = call.version {
            // Its thread runs on: the version poisons a held instance, and past its bound leaves the process.
            for note in version.abandonOverdue() {
                logger.warning("in-process call abandoned", metadata: ["actor": "\(version.actor)", "note": "\(note)"])
                context.journal.record(event: EventRecord(kind: "inprocess_call_abandoned", cause: note, interactionID: call.start.id, payload: JSON.object([
                    ("actor", .string(version.actor)), ("step", .string(step.name)),
                ]).text))
            }
        }
        // Its thread is gone to the abandoned call: the lane gets another, once the version
        // has dealt with it (a replacement must not start on an instance being moved out).
        if call.inProcess { state.withLock { startWorker(lane: context.plan.lane(ofStep: call.step), generation: generation, context, &$0) } }
        let outcome = CallOutcome.timedOut("no answer within \(step.timeoutMilliseconds) ms; the watchdog failed the interaction")
        finish(call.start, run: call.run, step: call.step, outcome: outcome,
               latency: now - call.deadline + .milliseconds(step.timeoutMilliseconds), shadow: call.shadow, context)
    }
}

extension Duration {
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
