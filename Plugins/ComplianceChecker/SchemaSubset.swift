import ActorKit

/// The subset of JSON Schema a suite's `expect.schema` may use: `type` (a name or a list of
/// them: object, array, string, number, integer, boolean, null), `properties`, `required`,
/// `items`, `enum`, `minimum`, `maximum`, `minLength`, `maxLength` (and `title`,
/// `description`, which check nothing). Any other keyword is refused when the suite is
/// read, so a suite never seems to check what it does not.
///
/// A problem names the JSON Pointer of the value at fault: `/items/0/price: expected number, got string`.
struct SchemaSubset {
    /// A schema fault, at `path` below the schema (`.properties.price.type`).
    struct Fault: Error { let path: String; let problem: String }

    private static let types: Set = ["object", "array", "string", "number", "integer", "boolean", "null"]
    private static let keywords: Set = ["type", "properties", "required", "items", "enum", "minimum", "maximum",
                                        "minLength", "maxLength", "title", "description"]

    private var types: [String]?
    private var properties: [(name: String, schema: SchemaSubset)] = []
    private var required: [String] = []
    private var items: [SchemaSubset] = []  // zero or one: a struct cannot hold itself
    private var allowed: [JSON]?
    private var minimum: Double?
    private var maximum: Double?
    private var minLength: Int?
    private var maxLength: Int?

    init(_ schema: JSON) throws(Fault) {
        guard let members = schema.objectValue else { throw Fault(path: "", problem: "a schema must be an object") }
        if let unknown = members.first(where: { !Self.keywords.contains($0.key) }) {
            throw Fault(path: ".\(unknown.key)", problem: "not in the schema subset (\(Self.keywords.sorted().joined(separator: ", ")))")
        }
        if let type = schema["type"] {
            let names = type.stringValue.map { [$0] } ?? type.arrayValue?.compactMap(\.stringValue) ?? []
            guard !names.isEmpty, names.count == (type.arrayValue?.count ?? 1), names.allSatisfy(Self.types.contains) else {
                throw Fault(path: ".type", problem: "must be one of \(Self.types.sorted().joined(separator: ", ")) or a list of them")
            }
            types = names
        }
        if let given = schema["properties"] {
            guard let entries = given.objectValue else { throw Fault(path: ".properties", problem: "must be an object of schemas") }
            for (name, sub) in entries {
                do { properties.append((name, try SchemaSubset(sub))) } catch {
                    throw Fault(path: ".properties.\(name)" + error.path, problem: error.problem)
                }
            }
        }
        if let given = schema["required"] {
            guard let names = given.arrayValue?.compactMap(\.stringValue), names.count == given.arrayValue?.count else {
                throw Fault(path: ".required", problem: "must be a list of member names")
            }
            required = names
        }
        if let given = schema["items"] {
            do { items = [try SchemaSubset(given)] } catch { throw Fault(path: ".items" + error.path, problem: error.problem) }
        }
        if let given = schema["enum"] {
            guard let values = given.arrayValue, !values.isEmpty else { throw Fault(path: ".enum", problem: "must be a non-empty list") }
            allowed = values
        }
        func number(_ key: String) throws(Fault) -> Double? {
            guard let value = schema[key] else { return nil }
            guard let number = value.doubleValue, case .number = value else { throw Fault(path: ".\(key)", problem: "must be a number") }
            return number
        }
        func length(_ key: String) throws(Fault) -> Int? {
            guard let value = schema[key] else { return nil }
            guard let count = value.intValue, count >= 0 else { throw Fault(path: ".\(key)", problem: "must be a non-negative integer") }
            return count
        }
        minimum = try number("minimum")
        maximum = try number("maximum")
        minLength = try length("minLength")
        maxLength = try length("maxLength")
    }

    /// The problems of `value`, each as "POINTER: what is wrong"; empty when it conforms.
    func problems(of value: JSON, at pointer: String = "") -> [String] {
        let here = pointer.isEmpty ? "/" : pointer
        if let types, !types.contains(where: { Self.matches(value, $0) }) {
            return ["\(here): expected \(types.joined(separator: " or ")), got \(Self.typeName(value))"]
        }
        var out: [String] = []
        if let allowed, !allowed.contains(value) {
            out.append("\(here): \(value.text) is not one of \(JSON.array(allowed).text)")
        }
        if case .number = value, let number = value.doubleValue {
            if let minimum, number < minimum { out.append("\(here): \(value.text) is below the minimum \(JSON.double(minimum).text)") }
            if let maximum, number > maximum { out.append("\(here): \(value.text) is above the maximum \(JSON.double(maximum).text)") }
        }
        if case .string(let text) = value {
            let count = text.count
            if let minLength, count < minLength { out.append("\(here): \(count) characters, fewer than minLength \(minLength)") }
            if let maxLength, count > maxLength { out.append("\(here): \(count) characters, more than maxLength \(maxLength)") }
        }
        if case .object = value {
            for name in required where value[name] == nil { out.append("\(here): lacks required member \"\(name)\"") }
            for (name, schema) in properties {
                if let member = value[name] { out += schema.problems(of: member, at: pointer + "/" + Self.escape(name)) }
            }
        }
        if case .array(let elements) = value, let schema = items.first {
            for (index, element) in elements.enumerated() { out += schema.problems(of: element, at: "\(pointer)/\(index)") }
        }
        return out
    }

    private static func matches(_ value: JSON, _ type: String) -> Bool {
        switch (type, value) {
        case ("integer", .number): value.intValue != nil || (value.doubleValue.map { $0 == $0.rounded() } ?? false)
        case ("number", .number), ("string", .string), ("boolean", .bool), ("object", .object), ("array", .array), ("null", .null): true
        default: false
        }
    }

    /// JSON Schema's names for a value's type (an integral number is an integer, and a number).
    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number: value.intValue != nil ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// RFC 6901: "~" and "/" in a member name.
    private static func escape(_ name: String) -> String {
        name.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}
