import ActorABI
import Synchronization
import WavehostJSON

/// A live instance of an actor, created with one config. Invoke it from any thread:
/// calls are serialised unless the actor declares itself thread-safe.
///
/// `@unchecked Sendable` because it wraps the plugin's instance pointer and C function
/// pointers, all immutable: the pointer is only used in `invoke` — under `serial` unless the
/// actor declared itself thread-safe (`WH_CAP_THREAD_SAFE`, the ABI's promise) — and in `deinit`.
public final class ActorInstance: @unchecked Sendable {
    public let image: PluginImage
    private let instance: UnsafeMutableRawPointer?
    private let services: HostServicesTable
    private let invokeFunction: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int,
                                                UnsafeMutablePointer<wh_reply>?) -> wh_status
    private let releaseFunction: @convention(c) (UnsafeMutablePointer<wh_reply>?) -> Void
    private let threadSafe: Bool
    /// Held around each invoke of an actor that is not thread-safe.
    private let serial = Mutex(())

    init(image: PluginImage, instance: UnsafeMutableRawPointer?, services: HostServicesTable) {
        self.image = image
        self.instance = instance
        self.services = services
        invokeFunction = image.functions.invoke
        releaseFunction = image.functions.release
        threadSafe = image.description.capabilities.contains(.threadSafe)
    }

    deinit { image.functions.destroy(instance) }

    /// Runs the actor on `input` and returns its output, checked to be one valid JSON
    /// document unless `checkingOutput` is false (a worker: its host checks what arrives,
    /// since it cannot trust the worker's process). The plugin's buffer is released before return.
    public func invoke(_ input: UnsafeRawBufferPointer, checkingOutput: Bool = true) throws(ActorFailure) -> [UInt8] {
        var reply = wh_reply.empty
        let status: wh_status
        if threadSafe {
            status = call(input, &reply)
        } else {
            status = serial.withLock { _ in call(input, &reply) }
        }
        defer { if reply.data != nil { releaseFunction(&reply) } }
        let output = UnsafeRawBufferPointer(start: reply.data, count: reply.data == nil ? 0 : reply.length)
        guard status == WH_OK else {
            throw ActorFailure(.init(status), actor: image.name,
                               message: String(decoding: output, as: UTF8.self))
        }
        guard reply.data != nil else {
            throw ActorFailure(.invalidOutput, actor: image.name, message: "returned success with no output")
        }
        if checkingOutput {
            do { try JSON.validate(output) } catch {
                throw ActorFailure(.invalidOutput, actor: image.name, message: "output is not valid JSON: \(error)")
            }
        }
        return Array(output)
    }

    public func invoke(_ input: [UInt8], checkingOutput: Bool = true) throws(ActorFailure) -> [UInt8] {
        let result = input.withUnsafeBytes { bytes in Result { () throws(ActorFailure) in try invoke(bytes, checkingOutput: checkingOutput) } }
        return try result.get()
    }

    public func invoke(_ input: String) throws(ActorFailure) -> [UInt8] {
        try invoke(Array(input.utf8))
    }

    private func call(_ input: UnsafeRawBufferPointer, _ reply: inout wh_reply) -> wh_status {
        invokeFunction(instance, input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count, &reply)
    }
}

/// An interaction that failed inside (or at the edge of) an actor.
public struct ActorFailure: Error, Sendable, CustomStringConvertible {
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        case invalidInput, invalidConfig, failed, unavailable, internalError
        /// The actor answered success with something that is not one JSON document.
        case invalidOutput
        /// A status code this host does not know.
        case unknown(Int32)

        /// Whether the actor itself returned a status other than WH_OK: a refusal. An
        /// invalid output is the host's verdict on an answer of WH_OK, so it is not one.
        public var isRefusal: Bool { self != .invalidOutput }

        public init(_ status: wh_status) {
            switch status {
            case WH_ERR_INVALID_INPUT: self = .invalidInput
            case WH_ERR_INVALID_CONFIG: self = .invalidConfig
            case WH_ERR_FAILED: self = .failed
            case WH_ERR_UNAVAILABLE: self = .unavailable
            case WH_ERR_INTERNAL: self = .internalError
            default: self = .unknown(status)
            }
        }

        /// The `wh_status` this stands for (invalid output has none of its own).
        public var code: wh_status {
            switch self {
            case .invalidInput: WH_ERR_INVALID_INPUT
            case .invalidConfig: WH_ERR_INVALID_CONFIG
            case .failed: WH_ERR_FAILED
            case .unavailable: WH_ERR_UNAVAILABLE
            case .internalError: WH_ERR_INTERNAL
            case .invalidOutput: WH_ERR_INTERNAL
            case .unknown(let code): code
            }
        }

        /// Whether trying again may succeed.
        public var isRetryable: Bool { self == .unavailable }

        public var description: String {
            switch self {
            case .invalidInput: "invalid input"
            case .invalidConfig: "invalid config"
            case .failed: "failed"
            case .unavailable: "unavailable"
            case .internalError: "internal error"
            case .invalidOutput: "invalid output"
            case .unknown(let code): "unknown status \(code)"
            }
        }
    }

    public let status: Status
    public let actor: String
    public let message: String

    public init(_ status: Status, actor: String, message: String) {
        self.status = status
        self.actor = actor
        self.message = message
    }

    public var description: String {
        "actor \(actor): \(status)\(message.isEmpty ? "" : ": \(message)")"
    }
}
