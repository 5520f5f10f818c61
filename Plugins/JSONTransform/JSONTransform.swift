import ActorKit

/// Reshapes a JSON record: keeps chosen fields, renames some, drops others and sets
/// constants — the glue between two actors whose field names differ.
///
/// Config: `{"pick": ["id", "title"], "rename": {"title": "headline"},
///           "drop": ["internal"], "set": {"source": "wavehost"}}` — applied in that order.
/// Input: a JSON object. Output: the reshaped object, keys in input order, `set` keys last.
final class JSONTransform: JSONActor {
    static let info = ActorInfo(
        name: "json-transform",
        version: "1.0.0",
        kind: .other,
        capabilities: [.threadSafe],
        description: "Reshapes a JSON object: pick, rename, drop and set fields.",
        configSchema: [
            "type": "object",
            "properties": [
                "pick": ["type": "array", "items": ["type": "string"]],
                "rename": ["type": "object", "additionalProperties": ["type": "string"]],
                "drop": ["type": "array", "items": ["type": "string"]],
                "set": ["type": "object"],
            ],
        ],
        inputSchema: ["type": "object"],
        outputSchema: ["type": "object"],
        examples: [
            .init("identity", input: ["a": 1, "b": [true, nil]], output: ["a": 1, "b": [true, nil]]),
            .init("pick, rename and set",
                  config: ["pick": ["id", "title"], "rename": ["title": "headline"], "set": ["source": "wavehost"]],
                  input: ["id": 7, "title": "Engineer", "salary": 1],
                  output: ["id": 7, "headline": "Engineer", "source": "wavehost"]),
            .init("drop", config: ["drop": ["secret"]], input: ["secret": "x", "kept": "y"], output: ["kept": "y"]),
            .init("not an object", input: "text", expectsError: true),
        ]
    )

    private let pick: Set<String>?
    private let rename: [String: String]
    private let drop: Set<String>
    private let constants: [(key: String, value: JSON)]

    init(config: JSON, host: HostServices) throws(ActorError) {
        guard config.objectValue != nil else { throw .invalidConfig("config must be an object, found \(config.typeName)") }
        pick = try config["pick"].map { value throws(ActorError) in Set(try Self.strings(value, option: "pick")) }
        drop = Set(try config["drop"].map { value throws(ActorError) in try Self.strings(value, option: "drop") } ?? [])
        var rename: [String: String] = [:]
        for (from, to) in config["rename"]?.objectValue ?? [] {
            guard let name = to.stringValue else { throw .invalidConfig("rename.\(from): expected a string") }
            rename[from] = name
        }
        if let value = config["rename"], value.objectValue == nil { throw .invalidConfig("rename: expected an object") }
        self.rename = rename
        if let value = config["set"], value.objectValue == nil { throw .invalidConfig("set: expected an object") }
        constants = config["set"]?.objectValue ?? []
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        guard let members = input.objectValue else { throw .invalidInput("input must be an object, found \(input.typeName)") }
        var output: [(key: String, value: JSON)] = []
        output.reserveCapacity(members.count + constants.count)
        for (key, value) in members where pick?.contains(key) ?? true {
            // Skip hashing against empty options: most configs use one or two of them.
            let name = rename.isEmpty ? key : rename[key] ?? key
            if drop.isEmpty || !drop.contains(name) { output.append((name, value)) }
        }
        for constant in constants {
            output.removeAll { $0.key == constant.key }
            output.append(constant)
        }
        return .object(output)
    }

    private static func strings(_ value: JSON, option: String) throws(ActorError) -> [String] {
        guard let items = value.arrayValue else { throw .invalidConfig("\(option): expected an array of strings") }
        return try items.map { item throws(ActorError) in
            guard let name = item.stringValue else { throw .invalidConfig("\(option): expected an array of strings") }
            return name
        }
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(JSONTransform.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
