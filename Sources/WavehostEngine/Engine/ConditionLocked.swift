import Foundation

/// State that threads share and wait on: read and changed only inside `withLock`, which
/// can first wait (releasing the lock) until the state is ready. `Mutex` cannot wait; this
/// is the one place that can, so the types built on it are plainly `Sendable`.
///
/// `@unchecked Sendable` because `state` is only ever touched with `condition` locked: it
/// is private, and each `withLock` holds the lock for the whole of its body (waits release
/// it only between looks at `ready`, never while the body runs).
final class ConditionLocked<State: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var state: State

    init(_ state: State) { self.state = state }

    /// Runs `body` on the state, alone.
    func withLock<T>(_ body: (inout State) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    /// Waits until `ready` holds or `deadline` (if any) passes, then runs `body` on the state, alone.
    func withLock<T>(waitingUntil ready: (State) -> Bool, deadline: Date? = nil, _ body: (inout State) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        while !ready(state) {
            if let deadline {
                guard condition.wait(until: deadline) || Date() < deadline else { break }
            } else {
                condition.wait()
            }
        }
        return try body(&state)
    }

    /// Runs `body` on the state, alone, again after each wait or turn it asks for, until it is
    /// done: one acquisition for a loop that waits on the state (a wait releases the lock only
    /// between runs of `body`, and wakes on a signal or at its deadline).
    func withLock<T>(looping body: (inout State) throws -> LockTurn<T>) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        while true {
            switch try body(&state) {
            case .done(let value): return value
            case .again: continue
            case .wait(let deadline): _ = condition.wait(until: deadline)
            }
        }
    }

    /// Wakes one waiter (after a change made in `withLock`: it then looks at `ready` again).
    func signal() { condition.signal() }

    /// Wakes every waiter.
    func broadcast() { condition.broadcast() }
}

/// What a looping ``ConditionLocked/withLock(looping:)`` body asks for next.
enum LockTurn<Value> {
    /// Wait for a signal or `until`, then run again.
    case wait(until: Date)
    /// Run again at once.
    case again
    case done(Value)
}
