import CSQLite

/// One connection to a SQLite database file, in WAL mode. Not thread-safe: the store
/// gives each connection to one caller at a time.
final class SQLiteConnection: SQLConnection {
    let path: String
    var database: String { path }
    // IMMEDIATE: writers queue up front instead of deadlocking midway.
    let beginStatement = "BEGIN IMMEDIATE"
    var migrations: [Migrations.Migration] { Migrations.sqlite }
    // SQLite 3.40 has no unixepoch('subsec'); 'now' is fixed within one statement.
    let now = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

    /// An exclusive transaction: a second process opening the file waits (busy timeout)
    /// until the first has migrated, then finds the schema current. `body` undoes a failed
    /// migration itself (a savepoint each), so what it applied before commits either way.
    func whileMigrating<T>(_ body: (_ inTransaction: Bool) throws(StoreError) -> T) throws(StoreError) -> T {
        // Foreign keys off (they cannot change inside a transaction): a migration that
        // rebuilds a table, as SQLite cannot change a constraint, drops the old one, and that
        // would count every row referring to it as broken. All references are checked
        // before the commit instead (SQLite's own procedure for altering a table).
        try execute("PRAGMA foreign_keys = OFF")
        defer { try? execute("PRAGMA foreign_keys = ON") }
        try execute("BEGIN EXCLUSIVE")
        let result: Result<T, StoreError>
        do { result = .success(try body(true)) } catch { result = .failure(error) }
        if case .success = result, let broken = (try? query("PRAGMA foreign_key_check", []))?.first {
            try? execute("ROLLBACK")
            throw StoreError(.statementFailed, database: path,
                             "a migration left a row of \(broken[0].text ?? "?") whose reference to \(broken[2].text ?? "?") is broken; nothing was changed")
        }
        do { try execute("COMMIT") } catch {
            try? execute("ROLLBACK")  // the COMMIT's error is the one thrown; a failed rollback adds nothing to it
            throw error
        }
        return try result.get()
    }

    // Numbered, so one binding can appear twice in a statement, as in PostgreSQL.
    func placeholder(_ index: Int) -> String { "?\(index)" }
    private let handle: OpaquePointer

    /// Opens (creating if needed) `path` with WAL and `synchronous=NORMAL` — durable
    /// across a crash of the process; a power loss may lose the last transactions.
    init(path: String) throws(StoreError) {
        self.path = path
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &opened, flags, nil) == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(opened)
            throw StoreError(.unavailable, database: path, "cannot open: \(message)")
        }
        handle = opened
        sqlite3_busy_timeout(handle, 5000)
        try execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
    }

    /// Prepared statements by their text: the engine runs the same few thousands of times a second.
    private var prepared: [String: OpaquePointer] = [:]

    deinit {
        for statement in prepared.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw failure(message, sql: sql)
        }
    }

    /// Runs a statement with `bindings` and returns every row, each column as a ``SQLValue``.
    @discardableResult
    func query(_ sql: String, _ bindings: [SQLValue]) throws(StoreError) -> [[SQLValue]] {
        let statement = try statement(for: sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in bindings.enumerated() { bind(value, at: Int32(offset + 1), in: statement) }
        var rows: [[SQLValue]] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
            case SQLITE_DONE:
                return rows
            default:
                throw failure(lastError, sql: sql)
            }
        }
    }

    /// Inserts `rows` in statements of up to 64 rows each (`prefix VALUES (?, …), (?, …) suffix`):
    /// SQLite's cost per statement is larger than its cost per row.
    func insertRows(_ prefix: String, _ rows: [[SQLValue]], suffix: String) throws(StoreError) {
        guard let width = rows.first?.count, width > 0 else { return }
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        var start = 0
        while start < rows.count {
            let count = min(64, rows.count - start)
            let sql = "\(prefix) VALUES \(Array(repeating: tuple, count: count).joined(separator: ", ")) \(suffix)"
            var bindings: [SQLValue] = []
            bindings.reserveCapacity(count * width)
            for row in rows[start..<(start + count)] { bindings += row }
            try query(sql, bindings)
            start += count
        }
    }

    private func statement(for sql: String) throws(StoreError) -> OpaquePointer {
        if let statement = prepared[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure(lastError, sql: sql)
        }
        prepared[sql] = statement
        return statement
    }

    var lastInsertedRow: Int64 { sqlite3_last_insert_rowid(handle) }

    private var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    private func failure(_ message: String, sql: String) -> StoreError {
        let appendOnly = message.contains("append-only")
        return StoreError(appendOnly ? .appendOnly : .statementFailed, database: path,
                          "\(message) (in: \(sql.prefix(120)))")
    }

    private func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) {
        switch value {
        case .null: sqlite3_bind_null(statement, index)
        case .integer(let number): sqlite3_bind_int64(statement, index, number)
        case .real(let number): sqlite3_bind_double(statement, index, number)
        case .text(let text):
            var text = text.storable
            text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { _ = csqlite_bind_text(statement, index, $0.baseAddress, Int32($0.count)) }
            }
        case .blob(let bytes):
            bytes.withUnsafeBytes { _ = csqlite_bind_blob(statement, index, $0.baseAddress, Int32($0.count)) }
        }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            guard let text = sqlite3_column_text(statement, index) else { return .null }
            return .text(String(cString: text))
        }
    }
}
