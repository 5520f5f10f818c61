import Foundation
import WavehostJSON
import WavehostSandbox
import WavehostStore

/// From an actor's answer to a durable result: checks, effects, retries, the watchdog.
extension Engine {
    /// Turns a call's outcome into the interaction's end and hands it to the journal.
    /// `page` is the paged step's page this output is (its `pages` + 1, read under `lock`
    /// by the caller); nil reads it here.
    func finish(_ start: InteractionStart, run: RunState, step index: Int, outcome: CallOutcome, latency: Duration, shadow: Bool = false,
                hostCalls: [HostCallRecord] = [], page: Int? = nil) {
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
                    let pageNumber = page ?? lock.withLock { run.steps[index].pages + 1 }
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
        lock.lock()
        if !shadow { awaitingCommit[start.id] = Outcome(run: run, step: index, output: parsed, retryable: retryable) }
        metered[start.id] = instruments(for: start, step: index)
        lock.unlock()
        journal.record(finish: finish)
    }

    /// Called by the journal once `finishes` are durable: advances each run. Runs in `lost`
    /// were taken over by another host (this one's lease lapsed): they are dropped here, and
    /// their ends in `finishes` were not written.
    func committed(_ finishes: [InteractionFinish], _ refused: [Int64: String], _ lost: Set<Int64>) {
        lock.lock()
        defer {
            lock.broadcast()
            lock.unlock()
        }
        for id in lost {
            guard let run = active.removeValue(forKey: id) else { continue }
            run.lost = true
            progress.runsLost += 1
            logger.warning("lost a run to another host (its lease lapsed)", metadata: ["run": "\(id)"])
        }
        for finish in finishes {
            if lost.contains(finish.runID) {
                metered[finish.id] = nil
                awaitingCommit[finish.id] = nil
                continue
            }
            // Counted once durable, with the status the store holds (a refused effect fails it).
            metered.removeValue(forKey: finish.id)?.record(refused[finish.id] == nil ? finish.status : .failed,
                                                          latencyMicroseconds: finish.latencyMicroseconds)
            guard let outcome = awaitingCommit.removeValue(forKey: finish.id) else { continue }
            let run = outcome.run
            let index = outcome.step
            let step = workflow.steps[index]
            run.steps[index].parent = finish.id
            let finished = active[run.id] == nil  // failed meanwhile by a sibling step
            if finish.status == .completed && refused[finish.id] == nil {
                progress.interactionsCompleted += 1
                if finished { continue }
                run.steps[index].failures = 0
                run.steps[index].output = outcome.output
                if let paging = step.paging {
                    run.steps[index].pages += 1
                    let next = outcome.output?.value(at: paging)
                    if let next, next != .null {
                        run.steps[index].cursor = next
                        run.steps[index].phase = .queued
                        enqueue(run, index)
                        continue
                    }
                }
                run.steps[index].phase = .done
                schedule(run)
                continue
            }
            progress.interactionsFailed += 1
            if finished { continue }
            let reason = refused[finish.id] ?? finish.error ?? "failed"
            run.steps[index].failures += 1
            run.steps[index].lastError = reason
            // A refused effect may clear on retry (a lookup then sees the row that won).
            let retryable = outcome.retryable || refused[finish.id] != nil
            if retryable && run.steps[index].failures < step.retry.attempts {
                let backoff = Duration.milliseconds(step.retry.backoffMilliseconds) * (1 << min(run.steps[index].failures - 1, 16))
                run.steps[index].phase = .queued
                delayed.append((.now + backoff, run, index))
                journal.record(event: EventRecord(kind: "retry_scheduled", cause: reason, interactionID: finish.id, payload: JSON.object([
                    ("attempt", .integer(run.steps[index].failures + 1)), ("of", .integer(step.retry.attempts)),
                    ("backoff_ms", .integer(backoff.milliseconds)),
                ]).text))
            } else {
                run.steps[index].final = true
                run.steps[index].phase = .waiting
                schedule(run)
            }
        }
    }

    /// Fails calls past their deadline. An in-process call cannot be stopped, so its
    /// thread is abandoned (its answer, if one comes, is dropped) and replaced.
    func watch(generation: Int) {
        lock.lock()
        while !stopping && self.generation == generation {
            _ = lock.wait(until: Date(timeIntervalSinceNow: 0.05))
            let now = ContinuousClock.now
            let overdue = inFlight.filter { $0.value.deadline <= now }
            for (id, call) in overdue {
                inFlight[id] = nil
                let step = workflow.steps[call.step]
                lock.unlock()
                if call.inProcess, let version = call.version {
                    // Its thread runs on: the version poisons a held instance, and past its bound leaves the process.
                    for note in version.abandonOverdue() {
                        logger.warning("in-process call abandoned", metadata: ["actor": "\(version.actor)", "note": "\(note)"])
                        journal.record(event: EventRecord(kind: "inprocess_call_abandoned", cause: note, interactionID: call.start.id, payload: JSON.object([
                            ("actor", .string(version.actor)), ("step", .string(step.name)),
                        ]).text))
                    }
                }
                // Its thread is gone to the abandoned call: the lane gets another, once the version
                // has dealt with it (a replacement must not start on an instance being moved out).
                if call.inProcess { lock.withLock { startWorker(lane: lane(ofStep: call.step), generation: generation) } }
                let outcome = CallOutcome.timedOut("no answer within \(step.timeoutMilliseconds) ms; the watchdog failed the interaction")
                finish(call.start, run: call.run, step: call.step, outcome: outcome,
                       latency: now - call.deadline + .milliseconds(step.timeoutMilliseconds), shadow: call.shadow)
                lock.lock()
            }
        }
        lock.unlock()
    }
}

extension Duration {
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
