import Foundation
import WavehostJSON

/// A row's value that its column's type refuses, or a row that lacks its key: final for
/// the interaction (the same output would be refused again).
public struct TableValueError: Error, Sendable, Equatable, CustomStringConvertible {
    public let table: String
    public let column: String
    public let message: String

    public var description: String { "table \(table), column \(column): \(message)" }
}

extension TableSchema {
    /// Checks `row` (a JSON object) for an effect: every member a declared column, each
    /// value of its column's type, the key present; for a delete only the key counts.
    /// Returns the key as the ledger spells it.
    public func check(_ row: JSON, deleting: Bool = false) throws(TableValueError) -> String {
        guard case .object(let members) = row else {
            throw TableValueError(table: qualifiedName, column: "(row)", message: "the row must be an object, not \(Self.typeName(row))")
        }
        if !deleting {
            for (name, value) in members {
                guard let column = column(named: name) else {
                    throw TableValueError(table: qualifiedName, column: name, message: "no such column (declared: \(columns.map(\.name).joined(separator: ", ")))")
                }
                _ = try sqlValue(value, for: column)
            }
            if let freshness, (row[freshness] ?? .null) == .null {
                throw TableValueError(table: qualifiedName, column: freshness, message: "the freshness column, and the row has no value (an upsert compares it)")
            }
            for column in columns where column.required && (row[column.name] ?? .null) == .null {
                throw TableValueError(table: qualifiedName, column: column.name, message: "required, and the row has no value")
            }
        }
        return try keyText(of: row)
    }

    /// The key of `row` as text: the value itself for one text or integer column, else a
    /// JSON array of the key's values.
    public func keyText(of row: JSON) throws(TableValueError) -> String {
        var parts: [JSON] = []
        for name in key {
            guard let value = row[name], value != .null else {
                throw TableValueError(table: qualifiedName, column: name, message: "a key column, and the row has no value")
            }
            parts.append(value)
        }
        if parts.count == 1 {
            if let text = parts[0].stringValue { return text }
            if case .number(let literal) = parts[0] { return literal }
        }
        return JSON.array(parts).text
    }

    /// `value` as `column` stores it.
    func sqlValue(_ value: JSON, for column: Column) throws(TableValueError) -> SQLValue {
        func refuse(_ expected: String) -> TableValueError {
            TableValueError(table: qualifiedName, column: column.name, message: "expects \(expected), got \(Self.typeName(value))")
        }
        if value == .null {
            guard !column.required, !key.contains(column.name) else { throw refuse("a value (it is required)") }
            return .null
        }
        switch column.type {
        case .text:
            guard let text = value.stringValue else { throw refuse("text") }
            return .text(text)
        case .integer:
            guard case .number(let literal) = value, let number = Int64(literal) else { throw refuse("an integer") }
            return .integer(number)
        case .real:
            guard case .number(let literal) = value, let number = Double(literal), number.isFinite else { throw refuse("a number") }
            return .real(number)
        case .boolean:
            guard case .bool(let flag) = value else { throw refuse("true or false") }
            return .integer(flag ? 1 : 0)
        case .timestamp:
            guard let text = value.stringValue, let instant = Self.timestamp(text) else {
                throw refuse("a timestamp (RFC 3339 text, such as 2026-12-01T20:30:00Z)")
            }
            return .text(instant)
        case .json:
            return .text(value.text)
        }
    }

    /// A stored value back as the JSON an effect wrote (booleans and timestamps as declared).
    func json(_ value: SQLValue, for column: Column) -> JSON {
        switch (value, column.type) {
        case (.null, _): return .null
        case (.integer(let number), .boolean): return .bool(number != 0)
        case (.text(let text), .boolean): return .bool(text == "t" || text == "true" || text == "1")
        case (.integer(let number), _): return .number(String(number))
        case (.real(let number), _): return .number(Self.literal(number))
        case (.text(let text), .integer), (.text(let text), .real): return .number(text)
        case (.text(let text), .json): return (try? JSON.parse(Array(text.utf8))) ?? .string(text)
        case (.text(let text), _): return .string(text)
        case (.blob(let bytes), _): return .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// RFC 3339 text normalised to UTC with milliseconds (`2026-12-01T20:30:00.000Z`), so
    /// stored timestamps compare as text in time order on SQLite; nil when it is not one.
    static func timestamp(_ text: String) -> String? {
        if let quick = wholeSecondsUTC(text) { return quick }
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let plain = Date.ISO8601FormatStyle()
        guard let date = (try? withFraction.parse(text)) ?? (try? plain.parse(text)) else { return nil }
        return withFraction.format(date)
    }

    /// The common case without Foundation's parser (which costs more than the row's write):
    /// `YYYY-MM-DDTHH:MM:SS` with `Z`, `.000Z` or `+00:00`, a valid date of years 1000–9999.
    /// Anything else is nil, for the parser.
    static func wholeSecondsUTC(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58 else { return nil }
        let tail = bytes[19...]
        guard tail.elementsEqual("Z".utf8) || tail.elementsEqual(".000Z".utf8) || tail.elementsEqual("+00:00".utf8) else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (48...57).contains(bytes[index]) else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19),
              year >= 1000, (1...12).contains(month), hour < 24, minute < 60, second < 60 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        return String(decoding: bytes[0..<19], as: UTF8.self) + ".000Z"
    }

    static func literal(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
    }

    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let literal): Int64(literal) != nil ? "an integer" : "a number"
        case .string: "text"
        case .array: "a list"
        case .object: "an object"
        }
    }
}
