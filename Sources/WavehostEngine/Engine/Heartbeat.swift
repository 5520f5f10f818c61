import Foundation
import Logging
import WavehostStore

/// A host's heartbeat: a thread that, every quarter of a lease, records the host alive in
/// the store's `hosts` table and renews every lease it holds, on the database's clock. A
/// host that stops beating (killed, frozen, cut off) loses its leases within one lease, and
/// any live host takes its runs over. Shared by a service's engines: one per host.
public final class Heartbeat: Sendable {
    public let owner: String
    public let lease: Duration
    private let store: Store
    private let reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)?
    /// What the engines beating with it and the beating thread share.
    private struct Shared: Sendable {
        var users = 0
        var running = false
        /// When the last beat that landed was sent: the leases it renewed last at least a lease from then.
        var lastBeat: ContinuousClock.Instant?
        /// The workflows whose runs this host may hold (its leases are renewed in these).
        var workflows: Set<Int64> = []
    }
    private let shared = ConditionLocked(Shared())
    private let logger = Logger(label: "wavehost.heartbeat")

    /// Renews this host's leases in `workflowID` from now on (an engine's workflow).
    public func hold(workflowID: Int64) {
        shared.withLock { _ = $0.workflows.insert(workflowID) }
    }

    public init(store: Store, owner: String, lease: Duration,
                reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)? = nil) {
        self.store = store
        self.owner = owner
        self.lease = lease
        self.reportIssue = reportIssue
    }

    /// Starts beating (the first beat before it returns), or joins the beat already going.
    public func start() {
        let first = shared.withLock { shared in
            shared.users += 1
            defer { shared.running = true }
            return !shared.running
        }
        guard first else { return }
        let thread = Thread { [self] in loop() }
        thread.name = "wavehost-heartbeat"
        beat()
        thread.start()
    }

    /// Stops when the last user stops: the host is recorded as stopped.
    public func stop() {
        let last = shared.withLock { shared in
            shared.users -= 1
            return shared.users == 0
        }
        guard last else { return }
        shared.broadcast()
        shared.withLock(waitingUntil: { !$0.running }) { _ in }
        do { try store.hostStopped(owner: owner) } catch {
            logger.warning("cannot record the host stopped", metadata: ["error": "\(error)"])
        }
    }

    private func loop() {
        let interval = Double(lease.milliseconds) / 4000
        while shared.withLock(waitingUntil: { $0.users == 0 }, deadline: Date(timeIntervalSinceNow: interval), { $0.users > 0 }) {
            beat()
        }
        shared.withLock { $0.running = false }
        shared.broadcast()
    }

    /// True while no lease of this host can have lapsed: the last beat was sent less than
    /// a lease ago, less a second of margin (runs claimed since then lease from their claim).
    public var leasesCertain: Bool {
        guard let lastBeat = shared.withLock({ $0.lastBeat }) else { return false }
        return ContinuousClock.now < lastBeat + lease - .seconds(1)
    }

    private func beat() {
        let sent = ContinuousClock.now
        do {
            try store.heartbeat(owner: owner, lease: lease, workflowIDs: shared.withLock { $0.workflows.sorted() })
            shared.withLock { $0.lastBeat = sent }
        } catch {
            logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            reportIssue?("heartbeat", "the heartbeat failed (leases lapse in \(lease) without one): \(error)")
        }
    }
}
