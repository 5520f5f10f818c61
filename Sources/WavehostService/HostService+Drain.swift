import Foundation
import UnixSignals
import WavehostEngine

/// SIGTERM or SIGINT (through the service group's graceful shutdown): no interaction starts
/// any more; those under way finish until the drain deadline, then they are failed as
/// interrupted, which the next host retries without using one of the step's attempts. The
/// leases of unfinished runs are handed back, the pools retire, and the process exits 0.
extension HostService {
    func beginDrain(deadline: ContinuousClock.Instant) {
        let first = state.withLock { state in
            defer { state.stopRequested = true }
            return !state.stopRequested
        }
        for engine in engines { engine.drain(deadline: deadline) }
        guard first else { return }
        let calls = engines.reduce(0) { $0 + $1.callsInFlight }
        logger.notice("draining: no new interactions; those under way may finish", metadata: [
            "calls_in_flight": "\(calls)", "deadline_seconds": "\(max(.zero, deadline - .now))",
        ])
        say("draining: \(calls) call\(calls == 1 ? "" : "s") under way, up to \(drainTimeout) before they are interrupted")
    }

    /// A second SIGTERM or SIGINT while draining (a person pressing Ctrl-C again) does not
    /// wait for the drain deadline: the calls under way are interrupted now, recorded as
    /// such, and retried by the next host as at the deadline.
    /// (The first one is the service group's, which begins the drain.)
    func interruptOnSecondSignal() async {
        var signals = 0
        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            signals += 1
            guard signals == 2 else { continue }
            say("second signal: interrupting the calls under way now")
            beginDrain(deadline: .now)
            return
        }
    }

    /// After the last pass: the engines' worker pools retire.
    func finishDrain() {
        for engine in engines { engine.close() }
        logger.notice("drained; worker pools retired")
    }
}
