@_exported import ActorABI
@_exported import ActorModel
@_exported import WavehostJSON

/// What a Swift actor author writes: one type conforming to this protocol, plus the
/// export line shown in ``ActorExport``. No host code is linked into the plugin.
///
/// The host creates one instance per configuration and calls ``invoke(_:)`` with each
/// input. Unless ``ActorInfo/capabilities`` contains `.threadSafe`, calls on one
/// instance never overlap.
public protocol WavehostActor: AnyObject {
    /// Static facts about the actor, read once when the plugin is loaded.
    static var info: ActorInfo { get }

    /// Makes an instance from its configuration (a JSON value; `{}` when none was given).
    /// Throw ``ActorError/invalidConfig(_:)`` to refuse it with a reason.
    init(config: JSON, host: HostServices) throws(ActorError)

    /// Does the work on one input. `input` holds the caller's bytes, valid only during
    /// the call; it is untrusted and may not be JSON at all.
    /// Returns the output as UTF-8 JSON bytes.
    func invoke(_ input: UnsafeRawBufferPointer) throws(ActorError) -> [UInt8]
}

/// A convenience for actors that work on parsed JSON values: implement `handle` instead
/// of ``WavehostActor/invoke(_:)``. Invalid input JSON is refused before `handle` runs.
public protocol JSONActor: WavehostActor {
    func handle(_ input: JSON) throws(ActorError) -> JSON
}

extension JSONActor {
    public func invoke(_ input: UnsafeRawBufferPointer) throws(ActorError) -> [UInt8] {
        let value: JSON
        do { value = try JSON.parse(input) } catch {
            throw .invalidInput("input is not valid JSON: \(error)")
        }
        return try handle(value).bytes
    }
}

/// Static facts about an actor: what the descriptor carries.
public struct ActorInfo: Sendable {
    public var name: String
    public var version: String
    public var kind: Kind
    public var capabilities: Capabilities
    public var description: String?
    public var configSchema: JSON?
    public var inputSchema: JSON?
    public var outputSchema: JSON?
    public var examples: [Example]

    public init(
        name: String, version: String, kind: Kind, capabilities: Capabilities = [],
        description: String? = nil, configSchema: JSON? = nil, inputSchema: JSON? = nil,
        outputSchema: JSON? = nil, examples: [Example] = []
    ) {
        self.name = name
        self.version = version
        self.kind = kind
        self.capabilities = capabilities
        self.description = description
        self.configSchema = configSchema
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.examples = examples
    }

    public typealias Kind = ActorKind
    public typealias Capabilities = ActorCapabilities
    public typealias Example = ActorExample
}

/// A failure an actor reports; each case maps to one `WH_ERR_*` status.
public enum ActorError: Error, Sendable {
    case invalidInput(String)
    case invalidConfig(String)
    case failed(String)
    /// A dependency is unavailable; the host may retry.
    case unavailable(String)
    case internalError(String)

    var status: wh_status {
        switch self {
        case .invalidInput: WH_ERR_INVALID_INPUT
        case .invalidConfig: WH_ERR_INVALID_CONFIG
        case .failed: WH_ERR_FAILED
        case .unavailable: WH_ERR_UNAVAILABLE
        case .internalError: WH_ERR_INTERNAL
        }
    }

    var message: String {
        switch self {
        case .invalidInput(let m), .invalidConfig(let m), .failed(let m), .unavailable(let m), .internalError(let m): m
        }
    }
}
