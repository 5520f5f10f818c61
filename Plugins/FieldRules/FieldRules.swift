import ActorKit

/// Field rules — required fields, value types, string lengths — read from an actor's
/// config and checked against a record, reporting every problem, not just the first.
/// Shared by field-validator and staging-validator.
///
/// Config keys: `{"required": ["title"], "types": {"salary": "number"},
///                "min_length": {"title": 3}, "max_length": {"title": 200}}`
public struct FieldRules: Sendable {
    /// The config keys these rules read, with their schemas, for an actor's `configSchema`.
    public static let configProperties: JSON = [
        "required": ["type": "array", "items": ["type": "string"]],
        "types": ["type": "object", "additionalProperties": ["enum": .array(FieldType.allNames)]],
        "min_length": ["type": "object", "additionalProperties": ["type": "integer", "minimum": 0]],
        "max_length": ["type": "object", "additionalProperties": ["type": "integer", "minimum": 0]],
    ]

    public enum FieldType: String, CaseIterable, Sendable {
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

    /// Every problem of `input`, as `{"field": …, "problem": …}` objects; empty when valid.
    public func problems(of input: JSON) -> [JSON] {
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
        return errors
    }

    let required: [String]
    let types: [(field: String, type: FieldType)]
    let minLengths: [(field: String, length: Int)]
    let maxLengths: [(field: String, length: Int)]

    /// Reads the rules from `config`, refusing a malformed option by name. Other keys of
    /// `config` are left to the actor that embeds these rules.
    public init(config: JSON) throws(ActorError) {
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

    static func strings(_ value: JSON?, option: String) throws(ActorError) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue else { throw .invalidConfig("\(option): expected an array of strings") }
        var names: [String] = []
        for item in items {
            guard let name = item.stringValue else { throw .invalidConfig("\(option): expected an array of strings") }
            names.append(name)
        }
        return names
    }

    static func members(_ value: JSON?, option: String) throws(ActorError) -> [(key: String, value: JSON)] {
        guard let value else { return [] }
        guard let members = value.objectValue else { throw .invalidConfig("\(option): expected an object") }
        return members
    }

    static func lengths(_ value: JSON?, option: String) throws(ActorError) -> [(field: String, length: Int)] {
        try members(value, option: option).map { (field, value) throws(ActorError) in
            guard let length = value.intValue, length >= 0 else {
                throw .invalidConfig("\(option).\(field): expected a non-negative integer")
            }
            return (field, length)
        }
    }
}
