/// A failure of the store: the database at fault, the statement or step, and the
/// database's own message.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The database could not be opened or reached.
        case unavailable
        /// The schema is newer than this binary knows; upgrade Wavehost.
        case schemaTooNew
        /// A statement failed (constraint, syntax, I/O…).
        case statementFailed
        /// A write to the append-only audit log was refused.
        case appendOnly
        /// A workflow's table declaration conflicts with the table as it is: a second
        /// writer, a column removed or retyped, a key changed, a table nobody declared.
        case tableRefused
    }

    public let code: Code
    /// The database (a file path or a redacted URL).
    public let database: String
    public let message: String

    public init(_ code: Code, database: String, _ message: String) {
        self.code = code
        self.database = database
        self.message = message
    }

    public var description: String { "\(database): \(message)" }
}
