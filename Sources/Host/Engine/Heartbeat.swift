import Foundation
import Logging

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
        defer { condition.unlock() }
        users += 1
        guard thread == nil else { return }
        beat()
        let thread = Thread { [self] in loop() }
        thread.name = "wavehost-heartbeat"
        self.thread = thread
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

    private func beat() {
        do { try store.heartbeat(owner: owner, lease: lease) } catch {
            logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            reportIssue?("heartbeat", "the heartbeat failed (leases lapse in \(lease) without one): \(error)")
        }
    }
}
