import Foundation
import WavehostJSON
import WavehostStore

/// Stopping on a signal without losing work.
extension Engine {
    /// Stops taking work: from now on no interaction starts (this `run` and any later one);
    /// those under way may end until `deadline`, after which they are failed as interrupted
    /// — retried by the next host without using an attempt — and `run` returns. The leases
    /// of runs left unfinished are released, so the next host takes them on at once.
    /// Thread-safe; meant to be called while another thread is inside `run`.
    public func drain(deadline: ContinuousClock.Instant) {
        lock.withLock {
            draining = true
            drainDeadline = deadline
            lock.broadcast()
        }
    }

    /// Calls under way now, for the service to report while draining.
    public var callsInFlight: Int { lock.withLock { inFlight.count } }

    /// Fails every call under way as interrupted; their threads' answers, if they come, are
    /// dropped (as for a call the watchdog gave up on). Their runs stay unfinished: nothing
    /// is awaited from them, so the runs resume on the next host. Called under `lock`.
    func interruptInFlight() {
        let interrupted = inFlight
        inFlight = [:]
        let now = ContinuousClock.now
        let reason = InteractionRecord.interruptedPrefix
            + "host \(options.owner) drained and stopped before this interaction ended; retried without using an attempt"
        for (id, call) in interrupted.sorted(by: { $0.key < $1.key }) {
            let timeout = Duration.milliseconds(workflow.steps[call.step].timeoutMilliseconds)
            let latency = max(.zero, now - (call.deadline - timeout - (call.inProcess ? .zero : options.grace)))
            metered[id] = instruments(for: call.start, step: call.step)
            journal.record(finish: InteractionFinish(
                id: id, status: .failed, output: nil, error: reason, completedAt: Store.now(),
                latencyMicroseconds: latency.microseconds, effects: [], applyEffects: false, runID: call.run.id))
            journal.record(event: EventRecord(kind: "interaction_interrupted", cause: reason, interactionID: id, payload: JSON.object([
                ("run", .integer(call.run.id)), ("step", .string(workflow.steps[call.step].name)), ("owner", .string(options.owner)),
            ]).text))
        }
    }

    /// After a drain: hands back the leases of runs this host leaves unfinished.
    func releaseLeases() {
        do { try store.releaseLeases(owner: options.owner, workflowID: stored.id) } catch {
            logger.error("cannot release leases after draining", metadata: ["error": "\(error)"])
            options.reportIssue?("engine", "cannot release leases after draining (they expire in \(options.lease)): \(error)")
        }
    }
}
