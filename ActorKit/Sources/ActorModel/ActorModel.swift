import ActorABI
import WavehostJSON

// The actor model, defined once: what a descriptor declares about an actor, shared by the
// SDK that writes descriptors (ActorKit), the runtime that reads them (ActorRuntime) and the host.

/// What an actor is for (`wh_actor_kind`). Kinds describe; no rule of the host depends on
/// one, so a kind a later v1 adds loads here as `other`.
public enum ActorKind: UInt32, Sendable, CaseIterable {
    case other = 0, fetcher, validator, saver, grader, checker, script

    /// The kind a descriptor declares: an unknown value reads as `other`.
    public init(declared value: UInt32) { self = ActorKind(rawValue: value) ?? .other }
}

/// What an actor declares it needs or does (`WH_CAP_*`).
public struct ActorCapabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// It opens sockets itself (granted per variant; actors that use the host's HTTP service need none).
    public static let network = ActorCapabilities(rawValue: WH_CAP_NETWORK)
    /// Its instance may be invoked from several threads at once.
    public static let threadSafe = ActorCapabilities(rawValue: WH_CAP_THREAD_SAFE)
    /// It touches the outside world itself (mail, an API that writes): never run in shadow or
    /// test runs. Effects the host applies (rows) need no such capability.
    public static let externalEffects = ActorCapabilities(rawValue: WH_CAP_EXTERNAL_EFFECTS)
    public static let known: ActorCapabilities = [.network, .threadSafe, .externalEffects]
    /// Bits 32–63: hints a host may ignore. A plugin built for a later v1 may set ones this
    /// host does not know, and still loads; an unknown bit below 32 refuses the plugin.
    public static let optionalBits = ActorCapabilities(rawValue: WH_CAP_OPTIONAL_MASK)

    /// Bits this host does not know and must understand to run the plugin.
    public var unknownRequired: ActorCapabilities { subtracting(.known).subtracting(.optionalBits) }
    /// Bits this host does not know and may ignore.
    public var unknownOptional: ActorCapabilities { subtracting(.known).intersection(.optionalBits) }

    public var names: [String] {
        [(Self.network, "network"), (.threadSafe, "thread-safe"), (.externalEffects, "external-effects")]
            .filter { contains($0.0) }.map(\.1)
            + (unknownOptional.isEmpty ? [] : ["unknown optional 0x\(String(unknownOptional.rawValue, radix: 16)) (ignored)"])
    }
    public var description: String { names.isEmpty ? "none" : names.joined(separator: ", ") }
}

/// One of an actor's own examples, which the host's conformance check runs
/// (`wavehost plugins check`) and a hot reload runs before a swap.
public struct ActorExample: Sendable, Equatable {
    public var name: String
    public var config: JSON
    public var input: JSON
    /// When set, the actual output must equal it (as JSON values).
    public var output: JSON?
    /// When true, the actor must refuse this input.
    public var expectsError: Bool

    public init(name: String, config: JSON = [:], input: JSON, output: JSON? = nil, expectsError: Bool = false) {
        self.name = name
        self.config = config
        self.input = input
        self.output = output
        self.expectsError = expectsError
    }

    /// As an author writes it: `.init("valid: promoted", config: …, input: …, output: …)`.
    public init(_ name: String, config: JSON = [:], input: JSON, output: JSON? = nil, expectsError: Bool = false) {
        self.init(name: name, config: config, input: input, output: output, expectsError: expectsError)
    }

    /// The entry of the descriptor's `examples` array.
    public var json: JSON {
        var members: [(key: String, value: JSON)] = [("name", .string(name)), ("config", config), ("input", input)]
        if let output { members.append(("output", output)) }
        if expectsError { members.append(("error", true)) }
        return .object(members)
    }

    /// Reads entry `position` of a descriptor's `examples` array.
    public init(_ value: JSON, position: Int) throws(ActorExampleError) {
        guard value.objectValue != nil else { throw ActorExampleError("examples[\(position)] is not an object") }
        guard let input = value["input"] else { throw ActorExampleError("examples[\(position)] has no \"input\"") }
        self.init(name: value["name"]?.stringValue ?? "example \(position + 1)", config: value["config"] ?? [:], input: input,
                  output: value["output"], expectsError: value["error"]?.boolValue ?? false)
    }
}

public struct ActorExampleError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
