import ActorABI
import WavehostJSON

/// What a plugin's descriptor declares, copied into host memory at load.
public struct ActorDescription: Sendable, Equatable {
    public enum Kind: UInt32, Sendable, CaseIterable {
        case other = 0, fetcher, validator, saver, grader, checker, script
    }

    public struct Capabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let network = Capabilities(rawValue: WH_CAP_NETWORK)
        public static let threadSafe = Capabilities(rawValue: WH_CAP_THREAD_SAFE)
        public static let externalEffects = Capabilities(rawValue: WH_CAP_EXTERNAL_EFFECTS)
        public static let known: Capabilities = [.network, .threadSafe, .externalEffects]

        public var names: [String] {
            [(Self.network, "network"), (.threadSafe, "thread-safe"), (.externalEffects, "external-effects")]
                .filter { contains($0.0) }.map(\.1)
        }
        public var description: String { names.isEmpty ? "none" : names.joined(separator: ", ") }
    }

    /// One of the plugin's own examples, run by the conformance check.
    public struct Example: Sendable, Equatable {
        public var name: String
        public var config: JSON
        public var input: JSON
        public var output: JSON?
        public var expectsError: Bool

        public init(name: String, config: JSON = [:], input: JSON, output: JSON? = nil, expectsError: Bool = false) {
            self.name = name
            self.config = config
            self.input = input
            self.output = output
            self.expectsError = expectsError
        }
    }

    public var name: String
    public var version: String
    public var kind: Kind
    public var capabilities: Capabilities
    /// The ABI version negotiated with the plugin.
    public var abiVersion: UInt32
    /// The size of the descriptor struct the plugin was built with.
    public var descriptorSize: Int
    public var summary: String?
    public var configSchema: JSON?
    public var inputSchema: JSON?
    public var outputSchema: JSON?
    public var examples: [Example]
}

extension ActorDescription.Example {
    /// Reads one entry of the descriptor's `examples` array.
    init(_ value: JSON, position: Int) throws(ExampleError) {
        guard value.objectValue != nil else { throw ExampleError("examples[\(position)] is not an object") }
        guard let input = value["input"] else { throw ExampleError("examples[\(position)] has no \"input\"") }
        name = value["name"]?.stringValue ?? "example \(position + 1)"
        config = value["config"] ?? [:]
        self.input = input
        output = value["output"]
        expectsError = value["error"]?.boolValue ?? false
    }

    struct ExampleError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}
