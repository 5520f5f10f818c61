import Foundation
import WavehostJSON

/// Reading a backfill's source in chunks from a position: a table of the same database by
/// its source id column, or a JSONL file by line.
final class BackfillReader {
    private enum Kind {
        case table(sql: String, idColumn: String, columns: [String]?)
        case file(FileHandleLines)
    }

    private let store: Store
    private let kind: Kind
    private var position: String?

    /// A reader of `source` after `position` (nil: from the start).
    init(_ source: BackfillSource, sourceID: String, after position: String?, store: Store) throws(StoreError) {
        self.store = store
        self.position = position
        switch source {
        case .table(let name):
            let sql = try store.sourceTableSQL(name)
            var columns: [String]?
            if store.backend == .sqlite {
                columns = try store.withConnection { connection throws(StoreError) -> [String] in
                    try connection.query("SELECT name FROM pragma_table_info(?1)", [.text(Self.unquoted(sql))]).compactMap { $0.first?.text }
                }
                guard !(columns ?? []).isEmpty else { throw StoreError(.tableRefused, database: store.database, "no table \(name) to backfill from") }
                guard columns!.contains(sourceID) else {
                    throw StoreError(.tableRefused, database: store.database, "table \(name) has no column \(sourceID) (the --source-id)")
                }
            } else {
                let exists = try store.withConnection { connection throws(StoreError) in
                    try connection.query("SELECT to_regclass($1) IS NOT NULL", [.text(sql)]).first?.first?.text
                }
                guard exists == "t" else { throw StoreError(.tableRefused, database: store.database, "no table \(name) to backfill from") }
            }
            kind = .table(sql: sql, idColumn: sourceID, columns: columns)
        case .jsonl(let path):
            guard let lines = FileHandleLines(path: path) else {
                throw StoreError(.tableRefused, database: store.database, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            let skip = position.flatMap { Int($0) } ?? 0
            while lines.number < skip, lines.next() != nil {}
            kind = .file(lines)
        }
    }

    /// Up to `limit` rows after the last one read.
    func next(_ limit: Int) throws(StoreError) -> [BackfillItem] {
        var items: [BackfillItem] = []
        switch kind {
        case .file(let lines):
            while items.count < limit, let line = lines.next() {
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                let place = "line \(lines.number)"
                do {
                    let object = try JSON.parse(Array(line.utf8))
                    items.append(BackfillItem(place: place, object: object, problem: nil, position: String(lines.number)))
                } catch {
                    items.append(BackfillItem(place: place, object: nil, problem: "not JSON (\(error))", position: String(lines.number)))
                }
            }
        case .table(let sql, let idColumn, let columns):
            let id = TableSQL.quote(idColumn.replacingOccurrences(of: "\"", with: "\"\""))
            let p = { (index: Int) in self.store.backend == .postgres ? "$\(index)" : "?\(index)" }
            let select = columns.map { names in
                "json_object(" + names.map { "'\($0.replacingOccurrences(of: "'", with: "''"))', s.\(TableSQL.quote($0.replacingOccurrences(of: "\"", with: "\"\"")))" }
                    .joined(separator: ", ") + ")"
            } ?? "row_to_json(s)::text"
            var bindings: [SQLValue] = []
            var filter = ""
            if let position, let value = try? JSON.parse(Array(position.utf8)) {
                filter = "WHERE s.\(id) > \(p(1)) "
                bindings.append(Self.binding(value))
            }
            bindings.append(.integer(Int64(limit)))
            let rows: [[SQLValue]]
            do {
                rows = try store.withConnection { connection throws(StoreError) in
                    try connection.query("SELECT \(select) FROM \(sql) AS s \(filter)ORDER BY s.\(id) LIMIT \(p(bindings.count))", bindings)
                }
            } catch where error.code == .statementFailed {
                throw StoreError(.tableRefused, database: store.database, "cannot read \(sql) in the order of \(idColumn): \(error.message)")
            }
            for row in rows {
                guard let text = row.first?.text, let object = try? JSON.parse(Array(text.utf8)) else {
                    throw StoreError(.statementFailed, database: store.database, "a row of \(sql) did not read as JSON")
                }
                let position = (object[idColumn] ?? .null).text
                items.append(BackfillItem(place: nil, object: object, problem: nil, position: position))
            }
        }
        if let last = items.last { position = last.position }
        return items
    }

    /// Source ids of a table that are null or repeated (which keyset paging would skip), as refusals.
    func idProblems() throws(StoreError) -> [String] {
        guard case .table(let sql, let idColumn, _) = kind else { return [] }
        let id = TableSQL.quote(idColumn.replacingOccurrences(of: "\"", with: "\"\""))
        return try store.withConnection { connection throws(StoreError) -> [String] in
            var problems: [String] = []
            let nulls = try connection.query("SELECT COUNT(*) FROM \(sql) WHERE \(id) IS NULL").first?.first?.integer ?? 0
            if nulls > 0 { problems.append("\(nulls) source rows have no \(idColumn)") }
            for row in try connection.query("SELECT CAST(\(id) AS TEXT), COUNT(*) FROM \(sql) GROUP BY \(id) HAVING COUNT(*) > 1 LIMIT 10") {
                problems.append("source id \(row[0].text ?? "?") is not unique (\(row[1].integer ?? 0) rows)")
            }
            return problems
        }
    }

    static func binding(_ value: JSON) -> SQLValue {
        switch value {
        case .number(let literal): Int64(literal).map(SQLValue.integer) ?? Double(literal).map(SQLValue.real) ?? .text(literal)
        case .string(let text): .text(text)
        default: .text(value.text)
        }
    }

    /// `"name"` as the bare name pragma_table_info takes.
    private static func unquoted(_ sql: String) -> String {
        String(sql.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
    }
}

extension Store {
    /// The SQL name of a backfill's source table: a declared table's `namespace.name` is that
    /// table; on PostgreSQL `schema.table` is two identifiers; anything else is one, quoted.
    func sourceTableSQL(_ name: String) throws(StoreError) -> String {
        func quote(_ part: Substring) -> String { "\"" + part.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        if name.contains("."), let declared = try declaredTable(name) {
            return TableSQL(schema: declared.schema, backend: backend).table
        }
        if backend == .postgres, let dot = name.firstIndex(of: ".") {
            return quote(name[..<dot]) + "." + quote(name[name.index(after: dot)...])
        }
        return quote(name[...])
    }
}

/// A file's lines, one at a time (getline), counted from 1.
final class FileHandleLines {
    private let file: UnsafeMutablePointer<FILE>
    private(set) var number = 0

    init?(path: String) {
        guard let file = fopen(path, "r") else { return nil }
        self.file = file
    }

    deinit { fclose(file) }

    func next() -> String? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let length = getline(&buffer, &capacity, file)
        guard length >= 0, let buffer else { return nil }
        number += 1
        var bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: length)
        if bytes.last == 10 { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
