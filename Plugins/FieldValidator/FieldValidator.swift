import ActorKit

/// Checks a JSON record against simple rules — required fields, value types, string
/// lengths — and answers with every problem found, not just the first.
///
/// Config: `{"required": ["title"], "types": {"salary": "number"},
///           "min_length": {"title": 3}, "max_length": {"title": 200}}`
/// Input: a JSON object. Output: `{"valid": false, "errors": [{"field": "title", "problem": "missing"}]}`.
final class FieldValidator: JSONActor {
    static let info = ActorInfo(
        name: "field-validator",
        version: "1.0.0",
        kind: .validator,
        capabilities: [.threadSafe],
        description: "Validates a JSON record's fields: presence, types and string lengths.",
        configSchema: [
            "type": "object",
            "properties": [
                "required": ["type": "array", "items": ["type": "string"]],
                "types": ["type": "object", "additionalProperties": ["enum": .array(FieldType.allNames)]],
                "min_length": ["type": "object", "additionalProperties": ["type": "integer", "minimum": 0]],
                "max_length": ["type": "object", "additionalProperties": ["type": "integer", "minimum": 0]],
            ],
        ],
        inputSchema: ["type": "object"],
        outputSchema: [
            "type": "object",
            "required": ["valid", "errors"],
            "properties": ["valid": ["type": "boolean"], "errors": ["type": "array"]],
        ],
        examples: [
            .init("complete record", config: ["required": ["title", "company"], "max_length": ["title": 20]],
                  input: ["title": "Swift engineer", "company": "Acme"],
                  output: ["valid": true, "errors": []]),
            .init("missing and too long", config: ["required": ["title", "company"], "max_length": ["title": 5]],
                  input: ["title": "Swift engineer"],
                  output: ["valid": false, "errors": [
                      ["field": "company", "problem": "missing"],
                      ["field": "title", "problem": "longer than 5 characters"],
                  ]]),
            .init("wrong type", config: ["types": ["salary": "number"]],
                  input: ["salary": "a lot"],
                  output: ["valid": false, "errors": [["field": "salary", "problem": "expected number, found string"]]]),
            .init("not an object", input: [1, 2], expectsError: true),
        ]
    )

    enum FieldType: String, CaseIterable {
        case string, number, integer, boolean, object, array, null
        static var allNames: [JSON] { allCases.map { .string($0.rawValue) } }

        func matches(_ value: JSON) -> Bool {
            switch (self, value) {
            case (.string, .string), (.number, .number), (.boolean, .bool),
                 (.object, .object), (.array, .array), (.null, .null): true
            case (.integer, .number): value.intValue != nil
            default: false
            }
        }
    }

    private let required: [String]
    private let types: [(field: String, type: FieldType)]
    private let minLengths: [(field: String, length: Int)]
    private let maxLengths: [(field: String, length: Int)]

    init(config: JSON, host: HostServices) throws(ActorError) {
        guard config.objectValue != nil else { throw .invalidConfig("config must be an object, found \(config.typeName)") }
        required = try Self.strings(config["required"], option: "required")
        types = try Self.members(config["types"], option: "types").map { (field, value) throws(ActorError) in
            guard let name = value.stringValue, let type = FieldType(rawValue: name) else {
                throw .invalidConfig("types.\(field): expected one of \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return (field, type)
        }
        minLengths = try Self.lengths(config["min_length"], option: "min_length")
        maxLengths = try Self.lengths(config["max_length"], option: "max_length")
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        guard input.objectValue != nil else { throw .invalidInput("input must be an object, found \(input.typeName)") }
        var errors: [JSON] = []
        func report(_ field: String, _ problem: String) { errors.append(["field": .string(field), "problem": .string(problem)]) }

        for field in required where input[field] == nil || input[field] == .null { report(field, "missing") }
        for (field, type) in types {
            if let value = input[field], !type.matches(value) {
                report(field, "expected \(type.rawValue), found \(value.typeName)")
            }
        }
        for (field, length) in minLengths {
            if let text = input[field]?.stringValue, text.count < length { report(field, "shorter than \(length) characters") }
        }
        for (field, length) in maxLengths {
            if let text = input[field]?.stringValue, text.count > length { report(field, "longer than \(length) characters") }
        }
        return ["valid": .bool(errors.isEmpty), "errors": .array(errors)]
    }

    private static func strings(_ value: JSON?, option: String) throws(ActorError) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue else { throw .invalidConfig("\(option): expected an array of strings") }
        var names: [String] = []
        for item in items {
            guard let name = item.stringValue else { throw .invalidConfig("\(option): expected an array of strings") }
            names.append(name)
        }
        return names
    }

    private static func members(_ value: JSON?, option: String) throws(ActorError) -> [(key: String, value: JSON)] {
        guard let value else { return [] }
        guard let members = value.objectValue else { throw .invalidConfig("\(option): expected an object") }
        return members
    }

    private static func lengths(_ value: JSON?, option: String) throws(ActorError) -> [(field: String, length: Int)] {
        try members(value, option: option).map { (field, value) throws(ActorError) in
            guard let length = value.intValue, length >= 0 else {
                throw .invalidConfig("\(option).\(field): expected a non-negative integer")
            }
            return (field, length)
        }
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(FieldValidator.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
