/// A JSON value, parsed and printed without Foundation.
///
/// Foundation's coders cost microseconds per call and several milliseconds of start-up;
/// actors and workers are on hot paths, so they use this instead. Objects keep their
/// key order (the printed form matches what was parsed); equality ignores it.
///
/// ## Reading
/// ```swift
/// let input = try JSON.parse(#"{"user": {"name": "Ada"}, "tags": ["a", "b"]}"#)
/// input["user"]?["name"]?.stringValue      // "Ada"
/// input["tags"]?.arrayValue?.count          // 2
/// input["missing"]                          // nil
/// ```
/// `JSON.parse(_:)` is strict (RFC 8259, valid UTF-8, at most
/// ``JSON/maximumDepth`` levels) and throws ``JSONParseError`` with the byte at fault.
///
/// ## Writing
/// Literals build values: `["greeting": "hello", "count": 2, "tags": ["a"], "none": nil]`;
/// ``JSON/integer(_:)``, ``JSON/double(_:)`` and `.string(_:)` build them from variables.
/// ``JSON/text`` and ``JSON/bytes`` print compact JSON, ``JSON/prettyText`` an indented form.
///
/// ## Topics
/// ### Cases
/// - ``null``
/// - ``bool(_:)``
/// - ``number(_:)``
/// - ``string(_:)``
/// - ``array(_:)``
/// - ``object(_:)``
public enum JSON: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, kept as its literal text, so integers past 2^53 and exact decimals survive a
    /// round trip. Read it with ``intValue`` or ``doubleValue``.
    case number(String)
    /// A string, its escapes decoded.
    case string(String)
    /// An array, in order.
    case array([JSON])
    /// An object's members in their order. A repeated key is kept as it came; the subscript
    /// answers the first.
    case object([(key: String, value: JSON)])
}

extension JSON {
    /// A whole number: `.integer(count)`.
    public static func integer<I: BinaryInteger>(_ value: I) -> JSON { .number(String(value)) }

    /// A double: whole values below 10^15 print as integers (`3`, not `3.0`); NaN and the
    /// infinities, which JSON cannot hold, become `null`.
    public static func double(_ value: Double) -> JSON {
        value.isFinite ? .number(value == value.rounded() && abs(value) < 1e15
            ? String(Int64(value)) : String(value)) : .null
    }

    /// The member `key` of an object; nil for a missing key or a non-object. Chains:
    /// `input["user"]?["name"]`.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, or nil for any other type.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, or nil for any other type.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as the nearest double, or nil for any other type.
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The number as an `Int` when it is whole and fits (`2`, `2.0`, `2e3`), else nil.
    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) ?? Double(text).flatMap { Int(exactly: $0) } }
        return nil
    }

    /// The array's items, or nil for any other type.
    public var arrayValue: [JSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The object's members in order, or nil for any other type.
    public var objectValue: [(key: String, value: JSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSON: Equatable {
    /// Values compare as JSON: numbers by value, objects regardless of key order.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b || (Double(a) != nil && Double(a) == Double(b))
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { member in b.contains { $0.key == member.key && $0.value == member.value } }
        default: return false
        }
    }
}

/// Literals write JSON: `["name": "Ada", "age": 36, "admin": false, "tags": ["x"], "boss": nil]`.
extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
    public init(nilLiteral: ()) { self = .null }
}
