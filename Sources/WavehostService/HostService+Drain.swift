import Foundation
import Host

/// SIGTERM or SIGINT (through the service group's graceful shutdown): no interaction starts
/// any more; those under way finish until the drain deadline, then they are failed as
/// interrupted, which the next host retries without using one of the step's attempts. The
/// leases of unfinished runs are handed back, the pools retire, and the process exits 0.
extension HostService {
    func beginDrain(deadline: ContinuousClock.Instant) {
        let first = wake.withLock {
            defer {
                stopRequested = true
                wake.broadcast()
            }
            return !stopRequested
        }
        for engine in engines { engine.drain(deadline: deadline) }
        guard first else { return }
        let calls = engines.reduce(0) { $0 + $1.callsInFlight }
        logger.notice("draining: no new interactions; those under way may finish", metadata: [
            "calls_in_flight": "\(calls)", "deadline_seconds": "\(max(.zero, deadline - .now))",
        ])
        say("draining: \(calls) call\(calls == 1 ? "" : "s") under way, up to \(drainTimeout) before they are interrupted")
    }

    /// After the last pass: the engines' worker pools retire.
    func finishDrain() {
        for engine in engines { engine.close() }
        logger.notice("drained; worker pools retired")
    }
}
