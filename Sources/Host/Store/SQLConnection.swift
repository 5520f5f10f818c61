/// What the store needs of a database connection, implemented once per backend
/// (SQLite, PostgreSQL). Not thread-safe: one caller at a time.
protocol SQLConnection: AnyObject {
    /// The database, for messages: a file path, or a URL without its password.
    var database: String { get }
    /// The statement that opens a write transaction.
    var beginStatement: String { get }
    /// Every migration this binary knows for this backend, oldest first.
    var migrations: [Migrations.Migration] { get }

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
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// A value bound to, or read from, a statement.
enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    var integer: Int64? { if case .integer(let number) = self { number } else { nil } }
    var text: String? { if case .text(let text) = self { text } else { nil } }
}
