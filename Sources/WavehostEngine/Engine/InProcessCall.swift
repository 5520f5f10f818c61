import ActorRuntime
import Metrics
import Synchronization
import WavehostMetrics
import WavehostSandbox

/// A plugin instance in the host's own process: fastest, but a call cannot be cut short at
/// its deadline. The watchdog then fails the interaction and abandons the call: its thread
/// runs on. An actor that is not thread-safe holds its instance's serial lock meanwhile, so
/// that instance is poisoned — a fresh one serves the next calls and the old one is left to
/// its thread. Abandoned calls are bounded: past `abandonedLimit`, the variant moves to a
/// sandboxed worker (where a deadline kills), with an event saying why.
public final class InProcessCall: ActorCall, Sendable {
    public static let defaultAbandonedLimit = 4

    public let actor: String
    public let sha256: String
    private let threadSafe: Bool
    public let externalEffects: Bool
    private let abandonedLimit: Int
    /// Its host service: a request from one of the actor's own threads belongs to the call under way.
    private let http: HostHTTP?
    private let makeInstance: @Sendable () throws(PluginError) -> ActorInstance
    private let makeSandboxed: @Sendable () throws(PluginError) -> any ActorCall

    private struct Running {
        let token: UInt64
        let deadline: UInt64
        let instance: ActorInstance
    }

    private struct State {
        var instance: ActorInstance?
        var running: [Running] = []
        var nextToken: UInt64 = 0
        var abandoned = 0
        /// Set once the variant was moved out of the process.
        var sandboxed: (any ActorCall)?
    }

    private let state = Mutex(State())

    init(actor: String, sha256: String, threadSafe: Bool, externalEffects: Bool = false, http: HostHTTP?, abandonedLimit: Int,
         makeInstance: @escaping @Sendable () throws(PluginError) -> ActorInstance,
         makeSandboxed: @escaping @Sendable () throws(PluginError) -> any ActorCall) throws(PluginError) {
        self.actor = actor
        self.sha256 = sha256
        self.threadSafe = threadSafe
        self.externalEffects = externalEffects
        self.http = http
        self.abandonedLimit = abandonedLimit
        self.makeInstance = makeInstance
        self.makeSandboxed = makeSandboxed
        let first = try makeInstance()
        state.withLock { $0.instance = first }
    }

    public var runsInProcess: Bool { state.withLock { $0.sandboxed == nil } }

    /// Calls abandoned so far (their threads may still run).
    public var abandonedCalls: Int { state.withLock { $0.abandoned } }

    public func call(_ input: [UInt8], timeout: Duration) -> CallOutcome {
        let deadline = monotonicNanoseconds() + timeout.nanoseconds
        let taken = state.withLock { state -> Result<(UInt64, ActorInstance), PluginError>? in
            if state.sandboxed != nil { return nil }
            if state.instance == nil {
                // The last one was poisoned and a fresh one could not be made then: try again.
                do throws(PluginError) { state.instance = try makeInstance() } catch { return .failure(error) }
            }
            state.nextToken += 1
            state.running.append(Running(token: state.nextToken, deadline: deadline, instance: state.instance!))
            return .success((state.nextToken, state.instance!))
        }
        guard let taken else { return state.withLock { $0.sandboxed }!.call(input, timeout: timeout) }
        let token: UInt64, instance: ActorInstance
        switch taken {
        case .success(let pair): (token, instance) = pair
        case .failure(let error): return .failed("a fresh instance of \(actor) could not be made: \(error.message)", retryable: true)
        }
        defer { state.withLock { $0.running.removeAll { $0.token == token } } }
        do {
            return .output(try HostCallLog.attending(http, deadline: deadline) { () throws(ActorFailure) in try instance.invoke(input) })
        } catch {
            // Output that is not JSON may be a passing fault; the actor's own refusals are final.
            let retryable = error.status.isRetryable || error.status == .invalidOutput
            return .failed(error.description, retryable: retryable)
        }
    }

    public func abandonOverdue() -> [String] {
        let now = monotonicNanoseconds()
        var notes: [String] = []
        let (abandoned, moveOut): (Int, Bool) = state.withLock { state in
            let overdue = state.running.filter { $0.deadline <= now }
            guard !overdue.isEmpty else { return (0, false) }
            state.running.removeAll { $0.deadline <= now }
            state.abandoned += overdue.count
            if !threadSafe, overdue.contains(where: { $0.instance === state.instance }) {
                // It holds the serial lock until its thread returns, if ever: the next calls get a fresh instance.
                // One that cannot be made now is made again by the next call, whose interaction gets the error.
                state.instance = try? makeInstance()
                notes.append("actor \(actor) is not thread-safe and its instance is held by a call past its deadline: "
                    + "a fresh instance serves the next calls (\(state.abandoned) abandoned so far)")
            }
            return (overdue.count, state.abandoned > abandonedLimit && state.sandboxed == nil)
        }
        if abandoned > 0 { Counter(label: HostMetrics.abandonedCalls, dimensions: [("actor", actor)]).increment(by: abandoned) }
        if moveOut {
            do {
                let sandboxed = try makeSandboxed()
                state.withLock { $0.sandboxed = sandboxed }
                notes.append("actor \(actor) left more than \(abandonedLimit) calls running past their deadline in the host's process: "
                    + "its variant now runs in a sandboxed worker, where a deadline stops a call")
            } catch {
                notes.append("actor \(actor) left more than \(abandonedLimit) calls running past their deadline, but it cannot move to a "
                    + "sandboxed worker: \(error.message)")
            }
        }
        return notes
    }

    public func retire() { state.withLock { $0.sandboxed }?.retire() }
}
