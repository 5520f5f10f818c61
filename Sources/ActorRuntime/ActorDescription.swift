import ActorABI
@_exported import ActorModel
import WavehostJSON

/// What a plugin's descriptor declares, copied into host memory at load.
public struct ActorDescription: Sendable, Equatable {
    public typealias Kind = ActorKind
    public typealias Capabilities = ActorCapabilities
    public typealias Example = ActorExample

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
        kind = Kind(declared: try number("kind", UInt32.self))
        capabilities = Capabilities(rawValue: try number("capabilities", UInt64.self))
        if let refusal = DescriptorReader.refusal(of: capabilities) { throw DescriptionError(refusal) }
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
