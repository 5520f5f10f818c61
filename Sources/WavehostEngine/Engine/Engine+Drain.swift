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
        state.withLock { s in
            s.draining = true
            s.drainDeadline = deadline
            state.broadcast()
        }
    }

    /// Calls under way now, for the service to report while draining.
    public var callsInFlight: Int { state.withLock { $0.inFlight.count } }

    /// Fails every call under way as interrupted; their threads' answers, if they come, are
    /// dropped (as for a call the watchdog gave up on). Their runs stay unfinished: nothing
    /// is awaited from them, so the runs resume on the next host. Called under the lock.
    func interruptInFlight(_ s: inout State) {
        let interrupted = s.inFlight
        s.inFlight = [:]
        let now = ContinuousClock.now
        let reason = InteractionRecord.interruptedPrefix
            + "host \(options.owner) drained and stopped before this interaction ended; retried without using an attempt"
        for (id, call) in interrupted.sorted(by: { $0.key < $1.key }) {
            let timeout = Duration.milliseconds(s.workflow.steps[call.step].timeoutMilliseconds)
            let latency = max(.zero, now - (call.deadline - timeout - (call.inProcess ? .zero : options.grace)))
            let meter = instruments(for: call.start, step: call.step, &s)
            s.metered[id] = meter
            s.journal.record(finish: InteractionFinish(
                id: id, status: .failed, output: nil, error: reason, completedAt: Store.now(),
                latencyMicroseconds: latency.microseconds, effects: [], applyEffects: false, runID: call.run.id))
            s.journal.record(event: EventRecord(kind: "interaction_interrupted", cause: reason, interactionID: id, payload: JSON.object([
                ("run", .integer(call.run.id)), ("step", .string(s.workflow.steps[call.step].name)), ("owner", .string(options.owner)),
            ]).text))
        }
    }

    /// After a drain: hands back the leases of runs this host leaves unfinished.
    func releaseLeases(workflowID: Int64) {
        do { try store.releaseLeases(owner: options.owner, workflowID: workflowID) } catch {
            logger.error("cannot release leases after draining", metadata: ["error": "\(error)"])
            options.reportIssue?("engine", "cannot release leases after draining (they expire in \(options.lease)): \(error)")
        }
    }
}
