/// What the store needs of a database connection, implemented once per backend
/// (SQLite, PostgreSQL). Not thread-safe: one caller at a time.
protocol SQLConnection: AnyObject {
    /// The database, for messages: a file path, or a URL without its password.
    var database: String { get }
    /// The statement that opens a write transaction.
    var beginStatement: String { get }
    /// Every migration this binary knows for this backend, oldest first.
    var migrations: [Migrations.Migration] { get }
    /// The database's clock in Unix milliseconds, as an SQL expression: leases are read and
    /// written on it, so hosts whose clocks differ agree on when a lease lapses.
    var now: String { get }

    /// Runs `body` holding this backend's migration lock, one host at a time. `body` is told
    /// whether it already runs in one transaction (SQLite) or must open its own (PostgreSQL).
    func whileMigrating<T>(_ body: (_ inTransaction: Bool) throws(StoreError) -> T) throws(StoreError) -> T

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(StoreError)
    /// Runs one statement with `bindings` (`$1`, `$2`… in PostgreSQL, `?` in SQLite).
    @discardableResult
    func query(_ sql: String, _ bindings: [SQLValue]) throws(StoreError) -> [[SQLValue]]
    /// The placeholder for the `index`-th binding (1-based).
    func placeholder(_ index: Int) -> String
    /// Inserts every row (all the same width) as fast as the backend allows:
    /// `prefix` is `INSERT INTO t (a, b)`, `suffix` e.g. an `ON CONFLICT` clause.
    func insertRows(_ prefix: String, _ rows: [[SQLValue]], suffix: String) throws(StoreError)
}

extension SQLConnection {
    @discardableResult
    func query(_ sql: String) throws(StoreError) -> [[SQLValue]] { try query(sql, []) }

    /// `count` placeholders from the `first`-th, comma-separated.
    func placeholders(_ count: Int, from first: Int = 1) -> String {
        (first..<(first + count)).map { placeholder($0) }.joined(separator: ", ")
    }

    /// Runs `body` in one transaction; rolls back if it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute(beginStatement)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")  // the body's error is the one rethrown; a failed rollback adds nothing to it
            throw error
        }
    }
}

/// A value bound to, or read from, a statement.
enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    var integer: Int64? { if case .integer(let number) = self { number } else { nil } }
    var text: String? { if case .text(let text) = self { text } else { nil } }
}

extension String {
    /// This text as both backends store it whole: NUL, which PostgreSQL refuses in text
    /// (COPY fails, a parameter is cut short) and SQLite's C strings end at, becomes the
    /// visible `\u0000`. Invalid UTF-8 cannot be in a String: text from an actor is
    /// decoded with U+FFFD in place of each invalid sequence.
    var storable: String {
        guard utf8.contains(0) else { return self }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count + 8)
        for byte in utf8 {
            if byte == 0 { bytes += Self.nulEscape } else { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let nulEscape = Array(#"\u0000"#.utf8)
}
