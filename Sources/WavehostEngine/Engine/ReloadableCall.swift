import Synchronization

/// A variant whose actor version can be swapped while calls are in flight: new calls go
/// to the new version at once; calls under way finish on the one they began with, which
/// is retired (its workers stopped) when the last of them ends.
public final class ReloadableCall: ActorCall, Sendable {
    /// One version, as handed to a call by ``begin()`` and back to ``end(_:)``. Immutable:
    /// the count of calls it is serving is kept in the reloadable call's state.
    final class Served: ActorCall, Sendable {
        let version: any ActorCall

        init(_ version: any ActorCall) { self.version = version }

        var actor: String { version.actor }
        var sha256: String { version.sha256 }
        var runsInProcess: Bool { version.runsInProcess }
        var externalEffects: Bool { version.externalEffects }
        func call(_ input: [UInt8], timeout: Duration) -> CallOutcome { version.call(input, timeout: timeout) }
        func abandonOverdue() -> [String] { version.abandonOverdue() }
    }

    /// The version new calls go to and the calls under way on each version: the current
    /// one's, and those of replaced versions still draining (rarely more than one).
    private struct State {
        var current: Served
        var currentInFlight = 0
        /// True once ``retire()`` was called: the current version retires when it drains.
        var retiring = false
        var draining: [(served: Served, inFlight: Int)] = []
    }

    public let actor: String
    private let state: Mutex<State>

    public init(_ initial: any ActorCall) {
        actor = initial.actor
        state = Mutex(State(current: Served(initial)))
    }

    public var sha256: String { state.withLock { $0.current.sha256 } }
    public var runsInProcess: Bool { state.withLock { $0.current.runsInProcess } }
    public var externalEffects: Bool { state.withLock { $0.current.externalEffects } }

    public func call(_ input: [UInt8], timeout: Duration) -> CallOutcome {
        let version = begin()
        defer { end(version) }
        return version.call(input, timeout: timeout)
    }

    public func begin() -> any ActorCall {
        state.withLock {
            $0.currentInFlight += 1
            return $0.current
        }
    }

    public func end(_ version: any ActorCall) {
        guard let served = version as? Served else { return }
        let retire = state.withLock { state -> Bool in
            if served === state.current {
                state.currentInFlight -= 1
                return state.retiring && state.currentInFlight == 0
            }
            guard let index = state.draining.firstIndex(where: { $0.served === served }) else { return false }
            state.draining[index].inFlight -= 1
            guard state.draining[index].inFlight == 0 else { return false }
            state.draining.remove(at: index)
            return true
        }
        if retire { served.version.retire() }
    }

    /// Makes `next` current; returns the hash it replaced. The old version drains.
    @discardableResult
    public func swap(to next: any ActorCall) -> String {
        let (old, retireNow) = state.withLock { state -> (Served, Bool) in
            let old = state.current
            let drains = state.currentInFlight > 0
            if drains { state.draining.append((old, state.currentInFlight)) }
            state.current = Served(next)
            state.currentInFlight = 0
            state.retiring = false
            return (old, !drains)
        }
        if retireNow { old.version.retire() }
        return old.sha256
    }

    public func retire() {
        let (served, retireNow) = state.withLock { state -> (Served, Bool) in
            state.retiring = true
            return (state.current, state.currentInFlight == 0)
        }
        if retireNow { served.version.retire() }
    }
}
