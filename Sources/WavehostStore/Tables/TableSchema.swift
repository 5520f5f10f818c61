import WavehostJSON

/// A table a workflow file declares: the user's data, kept in a namespace of its own so it
/// never meets the host's tables (`runs`, `events`…). Effects write it with typed,
/// parameterised statements; identifiers come only from here.
///
/// Named `namespace.name`. On PostgreSQL that is a schema and a table (`data.postings`); on
/// SQLite, one database file, it is the table `namespace_name` (`data_postings`). The host's
/// own tables never contain `_` after a namespace's name, and namespaces are refused when
/// they name a host table's prefix (see ``TableSchema/reservedNamespaces``).
public struct TableSchema: Sendable, Equatable {
    public enum ColumnType: String, Sendable, CaseIterable {
        case text, integer, real, boolean, timestamp, json
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var type: ColumnType
        /// NOT NULL; key columns always are.
        public var required: Bool

        public init(name: String, type: ColumnType, required: Bool = false) {
            self.name = name
            self.type = type
            self.required = required
        }
    }

    /// `column` holds a key of `table` (`namespace.name` of a declared table of the same store).
    public struct Reference: Sendable, Equatable {
        public var column: String
        public var table: String
        public var targetColumn: String

        public init(column: String, table: String, targetColumn: String) {
            self.column = column
            self.table = table
            self.targetColumn = targetColumn
        }
    }

    public var namespace: String
    public var name: String
    public var columns: [Column]
    /// The key: one or more columns, unique together.
    public var key: [String]
    public var indexes: [[String]]
    public var references: [Reference]
    /// A `timestamp` or `integer` column: an upsert writes its row only when the row's value
    /// there is newer than the stored one. Last write wins by the time the event happened,
    /// never by the order rows arrive.
    public var freshness: String?
    /// The short form (`tables: [name]`): a `key` text column and a `data` json column, the
    /// effect's row stored whole. For quick experiments.
    public var isShortForm: Bool

    public init(namespace: String, name: String, columns: [Column], key: [String], indexes: [[String]] = [],
                references: [Reference] = [], freshness: String? = nil, isShortForm: Bool = false) {
        self.namespace = namespace
        self.name = name
        self.columns = columns
        self.key = key
        self.indexes = indexes
        self.references = references
        self.freshness = freshness
        self.isShortForm = isShortForm
    }

    /// A short-form table: `key` and `data`.
    public static func shortForm(namespace: String, name: String) -> TableSchema {
        TableSchema(namespace: namespace, name: name,
                    columns: [Column(name: "key", type: .text, required: true), Column(name: "data", type: .json, required: true)],
                    key: ["key"], isShortForm: true)
    }

    /// `namespace.name`, as workflows, the CLI and the ledger name it.
    public var qualifiedName: String { "\(namespace).\(name)" }

    /// `name` as `namespace.table`: a name given without a namespace is in `namespace`.
    public static func qualified(_ name: String, in namespace: String = defaultNamespace) -> String {
        name.contains(".") ? name : "\(namespace).\(name)"
    }

    public func column(named name: String) -> Column? { columns.first { $0.name == name } }

    /// The namespace a workflow's tables are in when its file names none.
    public static let defaultNamespace = "data"
    /// Columns every declared table carries, written by the host: which interaction and run
    /// wrote the row (0 and 0 for a write no interaction made), when (Unix milliseconds), and
    /// the ledger origin of a write no interaction made (`backfill:SOURCE:ID` for a row a
    /// backfill imported, `effect_rows:ID` for one an older Wavehost wrote; null for an
    /// interaction's). Declared columns may not start with `_`.
    public static let provenanceColumns = ["_interaction_id", "_run_id", "_written_at", "_origin"]
    /// Namespaces that would read as host tables on SQLite (`runs_…`, `events_…`…).
    public static let reservedNamespaces: Set<String> = [
        "actors", "actor", "workflows", "workflow", "steps", "variants", "runs", "interactions", "events",
        "effect", "effects", "id", "commits", "approved", "reviews", "canary", "canaries", "hosts", "schema",
        "table", "tables", "declared", "sqlite", "pg", "public", "information",
    ]

    /// Why `identifier` cannot name a namespace, table or column, or nil when it can:
    /// lower-case letters, digits and `_`, starting with a letter, at most 48 characters.
    public static func identifierProblem(_ identifier: String) -> String? {
        guard let first = identifier.unicodeScalars.first, ("a"..."z").contains(first) else {
            return "\"\(identifier)\" must start with a lower-case letter"
        }
        guard identifier.utf8.count <= 48 else { return "\"\(identifier)\" is longer than 48 characters" }
        guard identifier.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
            return "\"\(identifier)\" may hold only lower-case letters, digits and _"
        }
        guard !identifier.contains("__") else { return "\"\(identifier)\" holds __, which the host keeps for its work tables" }
        return nil
    }
}

/// A workflow's word on one table: it writes it (and then owns it, unless the owner's
/// file names it among `writers`) or only reads it.
public struct TableDeclaration: Sendable, Equatable {
    public enum Access: String, Sendable { case write, read }

    /// For a read-only declaration, only the name and namespace count: the owner's file
    /// holds the columns.
    public var schema: TableSchema
    public var access: Access
    /// Other workflows the owner lets write this table too.
    public var writers: [String]
    /// Where the file declares it, for messages.
    public var line: Int

    public init(schema: TableSchema, access: Access, writers: [String] = [], line: Int = 0) {
        self.schema = schema
        self.access = access
        self.writers = writers
        self.line = line
    }
}
