import Foundation
import Logging
import WavehostStore

/// A host's heartbeat: a thread that, every quarter of a lease, records the host alive in
/// the store's `hosts` table and renews every lease it holds, on the database's clock. A
/// host that stops beating (killed, frozen, cut off) loses its leases within one lease, and
/// any live host takes its runs over. Shared by a service's engines: one per host.
public final class Heartbeat: @unchecked Sendable {
    public let owner: String
    public let lease: Duration
    private let store: Store
    private let reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)?
    private let condition = NSCondition()
    private var users = 0
    private var thread: Thread?
    /// When the last beat that landed was sent: the leases it renewed last at least a lease from then.
    private var lastBeat: ContinuousClock.Instant?
    /// The workflows whose runs this host may hold (its leases are renewed in these).
    private var workflows: Set<Int64> = []

    /// Renews this host's leases in `workflowID` from now on (an engine's workflow).
    public func hold(workflowID: Int64) {
        condition.withLock { _ = workflows.insert(workflowID) }
    }
    private let logger = Logger(label: "wavehost.heartbeat")

    public init(store: Store, owner: String, lease: Duration,
                reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)? = nil) {
        self.store = store
        self.owner = owner
        self.lease = lease
        self.reportIssue = reportIssue
    }

    /// Starts beating (the first beat before it returns), or joins the beat already going.
    public func start() {
        condition.lock()
        users += 1
        guard thread == nil else { condition.unlock(); return }
        let thread = Thread { [self] in loop() }
        thread.name = "wavehost-heartbeat"
        self.thread = thread
        condition.unlock()
        beat()
        thread.start()
    }

    /// Stops when the last user stops: the host is recorded as stopped.
    public func stop() {
        condition.lock()
        users -= 1
        guard users == 0 else { condition.unlock(); return }
        condition.broadcast()
        while thread != nil { condition.wait() }
        condition.unlock()
        do { try store.hostStopped(owner: owner) } catch {
            logger.warning("cannot record the host stopped", metadata: ["error": "\(error)"])
        }
    }

    private func loop() {
        let interval = Double(lease.milliseconds) / 4000
        condition.lock()
        while users > 0 {
            _ = condition.wait(until: Date(timeIntervalSinceNow: interval))
            guard users > 0 else { break }
            condition.unlock()
            beat()
            condition.lock()
        }
        thread = nil
        condition.broadcast()
        condition.unlock()
    }

    /// True while no lease of this host can have lapsed: the last beat was sent less than
    /// a lease ago, less a second of margin (runs claimed since then lease from their claim).
    public var leasesCertain: Bool {
        guard let lastBeat = condition.withLock({ lastBeat }) else { return false }
        return ContinuousClock.now < lastBeat + lease - .seconds(1)
    }

    private func beat() {
        let sent = ContinuousClock.now
        do {
            try store.heartbeat(owner: owner, lease: lease, workflowIDs: condition.withLock { workflows.sorted() })
            condition.withLock { lastBeat = sent }
        } catch {
            logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            reportIssue?("heartbeat", "the heartbeat failed (leases lapse in \(lease) without one): \(error)")
        }
    }
}
