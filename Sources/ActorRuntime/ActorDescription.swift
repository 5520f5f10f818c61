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

// MARK: - The descriptor as JSON, between a worker that read it and the host

extension ActorDescription {
    /// Everything the descriptor declares, as `wavehost-worker describe` prints it.
    public var json: JSON {
        var members: [(key: String, value: JSON)] = [
            ("name", .string(name)), ("version", .string(version)), ("kind", .integer(kind.rawValue)),
            ("capabilities", .integer(capabilities.rawValue)), ("abi_version", .integer(abiVersion)),
            ("descriptor_size", .integer(descriptorSize)),
        ]
        if let summary { members.append(("summary", .string(summary))) }
        if let configSchema { members.append(("config_schema", configSchema)) }
        if let inputSchema { members.append(("input_schema", inputSchema)) }
        if let outputSchema { members.append(("output_schema", outputSchema)) }
        members.append(("examples", .array(examples.map(\.json))))
        return .object(members)
    }

    /// Reads what a worker printed, checking it as the descriptor itself is checked: the
    /// worker ran the plugin's code, so its answer is no more trusted than the plugin.
    public init(json: JSON) throws(DescriptionError) {
        func text(_ key: String) throws(DescriptionError) -> String {
            guard let value = json[key]?.stringValue else { throw DescriptionError("\(key) is missing or not a string") }
            return value
        }
        func number<N: FixedWidthInteger>(_ key: String, _: N.Type) throws(DescriptionError) -> N {
            guard case .number(let literal)? = json[key], let value = N(literal) else {
                throw DescriptionError("\(key) is missing or not a whole number")
            }
            return value
        }
        guard json.objectValue != nil else { throw DescriptionError("the descriptor is not a JSON object") }
        name = try text("name")
        guard DescriptorReader.isValidName(name) else { throw DescriptionError("name \"\(name)\" is not a valid actor name") }
        version = try text("version")
        guard !version.isEmpty else { throw DescriptionError("version is empty") }
        let kindValue = try number("kind", UInt32.self)
        guard let kind = Kind(rawValue: kindValue) else { throw DescriptionError("unknown kind \(kindValue)") }
        self.kind = kind
        capabilities = Capabilities(rawValue: try number("capabilities", UInt64.self))
        guard capabilities.subtracting(.known).isEmpty else { throw DescriptionError("unknown capability bits") }
        abiVersion = try number("abi_version", UInt32.self)
        guard PluginImage.supportedABIVersions.contains(abiVersion) else { throw DescriptionError("unsupported ABI version \(abiVersion)") }
        descriptorSize = try number("descriptor_size", Int.self)
        guard descriptorSize >= DescriptorReader.minimumSize else { throw DescriptionError("descriptor size \(descriptorSize) is too small") }
        summary = json["summary"]?.stringValue
        configSchema = json["config_schema"]
        inputSchema = json["input_schema"]
        outputSchema = json["output_schema"]
        guard let items = json["examples"]?.arrayValue else { throw DescriptionError("examples is missing or not an array") }
        var examples: [Example] = []
        for (position, item) in items.enumerated() {
            do { examples.append(try Example(item, position: position)) } catch { throw DescriptionError(error.message) }
        }
        self.examples = examples
    }

    public struct DescriptionError: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

extension ActorDescription.Example {
    /// The form ``init(_:position:)`` reads back.
    var json: JSON {
        var members: [(key: String, value: JSON)] = [("name", .string(name)), ("config", config), ("input", input)]
        if let output { members.append(("output", output)) }
        if expectsError { members.append(("error", .bool(true))) }
        return .object(members)
    }
}
