import Foundation

/// A variant whose actor version can be swapped while calls are in flight: new calls go
/// to the new version at once; calls under way finish on the one they began with, which
/// is retired (its workers stopped) when the last of them ends.
public final class ReloadableCall: ActorCall, @unchecked Sendable {
    /// One version and the calls it is serving.
    final class Served: ActorCall, @unchecked Sendable {
        let version: any ActorCall
        var inFlight = 0
        var replaced = false

        init(_ version: any ActorCall) { self.version = version }

        var actor: String { version.actor }
        var sha256: String { version.sha256 }
        var runsInProcess: Bool { version.runsInProcess }
        var externalEffects: Bool { version.externalEffects }
        func call(_ input: [UInt8], timeout: Duration) -> CallOutcome { version.call(input, timeout: timeout) }
        func abandonOverdue() -> [String] { version.abandonOverdue() }
    }

    public let actor: String
    private let lock = NSLock()
    private var current: Served

    public init(_ initial: any ActorCall) {
        actor = initial.actor
        current = Served(initial)
    }

    public var sha256: String { lock.withLock { current.sha256 } }
    public var runsInProcess: Bool { lock.withLock { current.runsInProcess } }
    public var externalEffects: Bool { lock.withLock { current.externalEffects } }

    public func call(_ input: [UInt8], timeout: Duration) -> CallOutcome {
        let version = begin()
        defer { end(version) }
        return version.call(input, timeout: timeout)
    }

    public func begin() -> any ActorCall {
        lock.withLock {
            current.inFlight += 1
            return current
        }
    }

    public func end(_ version: any ActorCall) {
        guard let served = version as? Served else { return }
        let retire = lock.withLock {
            served.inFlight -= 1
            return served.replaced && served.inFlight == 0
        }
        if retire { served.version.retire() }
    }

    /// Makes `next` current; returns the hash it replaced. The old version drains.
    @discardableResult
    public func swap(to next: any ActorCall) -> String {
        let (old, retireNow) = lock.withLock {
            let old = current
            old.replaced = true
            current = Served(next)
            return (old, old.inFlight == 0)
        }
        if retireNow { old.version.retire() }
        return old.sha256
    }

    public func retire() {
        let served = lock.withLock {
            current.replaced = true
            return current
        }
        if served.inFlight == 0 { served.version.retire() }
    }
}
