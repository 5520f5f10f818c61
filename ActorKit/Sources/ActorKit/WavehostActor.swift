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
    /// Does the work on one parsed input and answers the output value. Throw an
    /// ``ActorError`` to refuse or fail, with a message for the interaction's record.
    func handle(_ input: JSON) throws(ActorError) -> JSON
}

extension JSONActor {
    /// Parses `input` strictly (refusing what is not JSON with ``ActorError/invalidInput(_:)``),
    /// calls ``handle(_:)`` and prints its answer.
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
    /// The stable identifier workflows name: 1–64 of `a–z 0–9 . _ -`, e.g. `"field-validator"`.
    public var name: String
    /// The actor's own version, e.g. `"1.2.0"` (the file's SHA-256 identifies the build).
    public var version: String
    /// What the actor is for; descriptive only.
    public var kind: Kind
    /// What it needs or does: `.threadSafe`, `.network`, `.externalEffects` (docs/abi.md §2.9).
    public var capabilities: Capabilities
    /// One sentence for people.
    public var description: String?
    /// JSON Schema of the config. Mark a string property `"x-wavehost-template": true` when it
    /// holds `{{dotted.path}}` references into the input, which the workflow parser checks.
    public var configSchema: JSON?
    /// JSON Schema of the input.
    public var inputSchema: JSON?
    /// JSON Schema of the output.
    public var outputSchema: JSON?
    /// What `wavehost plugins check` and a hot reload run before trusting a build: an input
    /// and its expected output, or an input the actor must refuse (`expectsError: true`).
    public var examples: [Example]

    /// Everything but the name, version and kind is optional.
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
    /// The input is not what this actor accepts (`WH_ERR_INVALID_INPUT`); never retried.
    case invalidInput(String)
    /// The config is not what this actor accepts (`WH_ERR_INVALID_CONFIG`, from `init`); never retried.
    case invalidConfig(String)
    /// The work failed for a reason of its own (`WH_ERR_FAILED`); never retried.
    case failed(String)
    /// A dependency is unavailable (`WH_ERR_UNAVAILABLE`): the host retries it, as often as
    /// the step's retry policy allows.
    case unavailable(String)
    /// A bug in the actor, or out of memory (`WH_ERR_INTERNAL`); never retried.
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
