import ActorRuntime
import WavehostJSON
import WavehostSandbox
import WavehostStore

/// A workflow as declared in its file, checked: steps form a DAG, every reference is
/// known, every value is in range. Nothing here has run yet.
public struct WorkflowDefinition: Sendable {
    public enum Environment: String, Sendable { case prod, test }

    public var name: String
    public var environment: Environment
    /// The namespace its unqualified table names are in (`namespace:`; default
    /// ``TableSchema/defaultNamespace``).
    public var namespace: String
    /// The tables it declares (`tables:`, or the older `writable_tables:`), in file order:
    /// those it writes, with their columns, and those it only reads.
    public var tables: [TableDeclaration]
    /// Steps in a valid execution order (every step after its dependencies).
    public var steps: [Step]
    /// Actor versions (SHA-256) approved to run in production; empty means no pinning.
    public var approvedHashes: [String]
    /// Where the runs' subjects come from; nil when the caller gives them.
    public var subjects: SubjectSource?
    /// A heartbeat (`every: 1h`): each subject runs again in every such slot of time, and
    /// `wavehost serve` adds the runs of each new slot. Nil: each subject runs once.
    public var everyMilliseconds: Int? = nil

    public func step(named name: String) -> Step? { steps.first { $0.name == name } }

    /// Names of the tables effects of this workflow may write (qualified when in another
    /// namespace); any other write is refused.
    public var writableTables: [String] { tables.filter { $0.access == .write }.map { displayName(of: $0.schema) } }

    /// The declaration of `name`: `table` (in this workflow's namespace) or `namespace.table`.
    public func table(named name: String) -> TableDeclaration? {
        let parts = name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let (space, table) = parts.count == 2 ? (parts[0], parts[1]) : (namespace, name)
        return tables.first { $0.schema.namespace == space && $0.schema.name == table }
    }

    /// `name` for a table of this workflow's namespace, `namespace.name` for another's.
    public func displayName(of schema: TableSchema) -> String {
        schema.namespace == namespace ? schema.name : schema.qualifiedName
    }
}

extension WorkflowDefinition {
    public struct Step: Sendable {
        public var name: String
        public var after: [String]
        public var variants: [Variant]
        public var timeoutMilliseconds: Int
        public var retry: Retry
        /// Calls of this step at once, in a lane of its own; nil shares its endpoint's lane
        /// (model steps) or the host's (the rest). See `Engine.Lanes`.
        public var concurrency: Int?
        /// Run only when a dependency's output satisfies this.
        public var condition: Condition?
        /// A dotted path into the composed input (`subject`, `validate.row`…) to send
        /// instead of the whole of it; nil sends it all.
        public var input: [String]?
        /// For a paged source: the output field holding the next page's cursor. The step
        /// runs again with `cursor` set until it is null, one interaction per page.
        public var paging: [String]?
        /// Rows of the output written to a table as effects.
        public var save: Save?
        /// A row read from a table and given to the actor as `lookup`.
        public var lookup: Lookup?
        /// Where this step was declared, for later messages.
        public var line: Int
    }

    /// Where subjects come from: one named subject, each row of a table effects wrote,
    /// or each line of a JSON Lines file (path relative to the workflow file).
    public enum SubjectSource: Sendable, Equatable {
        case single(String)
        case table(String)
        case file(path: String, key: String)
    }

    /// `save: {table: postings_staging, rows: items, key: external_id}`: each element of
    /// the output's `rows` list (or the object there, or the output itself when absent) is
    /// upserted into `table`. On a short-form table it is keyed by its `key` field; without
    /// one, a single row is keyed by the subject and a list's rows by subject, page and
    /// position. A full table's key comes from its declaration (`key` is refused there).
    /// `subject: external_id` writes the run's subject into that column of each row.
    public struct Save: Sendable {
        public var table: String
        public var rows: [String]?
        public var key: String?
        public var subject: String?

        public init(table: String, rows: [String]? = nil, key: String? = nil, subject: String? = nil) {
            self.table = table
            self.rows = rows
            self.key = key
            self.subject = subject
        }
    }

    /// `lookup: {table: postings, key: external_id}`: the row of `table` whose key is
    /// the subject's `key` field (null when there is none).
    public struct Lookup: Sendable {
        public var table: String
        public var key: String
    }

    public struct Variant: Sendable {
        public enum Role: String, Sendable, CaseIterable { case champion, challenger }
        public enum Mode: String, Sendable, CaseIterable { case live, shadow }
        public enum Isolation: String, Sendable, CaseIterable { case process, inprocess }

        public var actor: String
        public var config: JSON
        public var role: Role
        public var weight: Int
        public var mode: Mode
        public var isolation: Isolation
        /// Its sandbox limits object (checked: see ``checkLimits(_:)``); nil for the defaults.
        public var limits: JSON?
        /// What the operator grants the actor beyond its sandbox (`network:`, `environment:`, `read:`).
        public var grants: Grants = .none
        public var line: Int

        public init(actor: String, config: JSON, role: Role, weight: Int, mode: Mode, isolation: Isolation, limits: JSON?,
                    grants: Grants = .none, line: Int) {
            self.actor = actor
            self.config = config
            self.role = role
            self.weight = weight
            self.mode = mode
            self.isolation = isolation
            self.limits = limits
            self.grants = grants
            self.line = line
        }

        /// Refuses a `limits` object the sandbox would not take: the workflow file's
        /// `limits:` and `wavehost variants add --limits` are checked the same way.
        public static func checkLimits(_ limits: JSON) throws(SandboxLimits.LimitsError) { _ = try SandboxLimits(json: limits) }
    }

    /// A variant's grants (docs/workflows.md, "Grants"): the network (``NetworkGrant``, the
    /// one syntax the host services enforce too), host environment variables passed by name,
    /// and files or folders the actor may read beside the system's.
    public struct Grants: Sendable {
        public var network: NetworkGrant?
        public var environment: [String] = []
        public var read: [String] = []

        public init(network: NetworkGrant? = nil, environment: [String] = [], read: [String] = []) {
            self.network = network
            self.environment = environment
            self.read = read
        }

        public static let none = Grants()
    }

    public struct Retry: Sendable, Equatable {
        /// Attempts in all, the first included.
        public var attempts: Int
        /// Wait before the second attempt; doubles each time after.
        public var backoffMilliseconds: Int

        public init(attempts: Int, backoffMilliseconds: Int) {
            self.attempts = attempts
            self.backoffMilliseconds = backoffMilliseconds
        }

        public static let none = Retry(attempts: 1, backoffMilliseconds: 0)
    }

    /// `when: {step: validate, field: valid, equals: true}` (or `not_equals`, or `in: [...]`).
    public struct Condition: Sendable {
        public enum Test: Sendable {
            case equals(JSON)
            case notEquals(JSON)
            case oneOf([JSON])
        }

        public var step: String
        /// A dotted path into the step's output, e.g. `grade.score`.
        public var field: [String]
        public var test: Test

        public func holds(for output: JSON) -> Bool {
            var value: JSON? = output
            for key in field { value = value?[key] }
            switch test {
            case .equals(let expected): return value == expected
            case .notEquals(let expected): return value != expected
            case .oneOf(let options): return value.map { options.contains($0) } ?? false
            }
        }
    }
}
