/// Why a sandboxed interaction did not produce an output. `code` says which kind of
/// failure, for the engine's status (a timeout is `timed_out`, the rest `failed`).
import ActorRuntime

public struct SandboxFailure: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The deadline passed; the worker was killed.
        case timedOut
        /// The worker died (signal or exit) during the call.
        case crashed
        /// The actor refused or failed, and said why.
        case actorFailed(ActorFailure.Status)
        /// The answer was larger than the output limit.
        case outputTooLarge
        /// The worker broke the wire protocol (or something wrote into its socket).
        case protocolViolation
        /// The worker could not start: spawn, load or create failed.
        case startFailed
    }

    public let code: Code
    public let actor: String
    public let message: String
    /// Time from the start of the call to the failure, in nanoseconds.
    public let elapsedNanoseconds: UInt64

    public init(_ code: Code, actor: String, _ message: String, elapsedNanoseconds: UInt64 = 0) {
        self.code = code
        self.actor = actor
        self.message = message
        self.elapsedNanoseconds = elapsedNanoseconds
    }

    public var isTimeout: Bool { code == .timedOut }

    public var description: String { "actor \(actor): \(message)" }
}
