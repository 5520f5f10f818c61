import WavehostJSON

/// A workflow as the store knows it: its row and the ids of its steps and variants.
public struct StoredWorkflow: Sendable {
    public let id: Int64
    /// Step ids by step name.
    public let stepIDs: [String: Int64]
    /// Variant ids by step name, in the order the file declares them.
    public let variantIDs: [String: [Int64]]
}

/// A workflow as the store records it, in the store's own words: the engine maps its
/// definition (roles, modes, isolation, limits) to this when it registers a workflow.
public struct WorkflowRecord: Sendable {
    public struct Step: Sendable {
        public var name: String
        /// The steps it runs after.
        public var after: [String]
        public var timeoutMilliseconds: Int
        /// Attempts after the first.
        public var retries: Int
        public var variants: [Variant]

        package init(name: String, after: [String], timeoutMilliseconds: Int, retries: Int, variants: [Variant]) {
            self.name = name
            self.after = after
            self.timeoutMilliseconds = timeoutMilliseconds
            self.retries = retries
            self.variants = variants
        }
    }

    public struct Variant: Sendable {
        public var actor: String
        public var config: JSON
        public var role: Store.VariantRole
        public var weight: Int
        public var mode: Store.VariantMode
        public var isolation: Store.VariantIsolation
        /// The sandbox limits object as the workflow file (or `--limits`) gives it; nil for the defaults.
        public var limits: JSON?
        /// Its grants object as the workflow file gives them; nil for none. Written only when
        /// the workflow is registered (``Store/recordGrants(_:)``): a variant added later has none.
        public var grants: JSON?

        package init(actor: String, config: JSON, role: Store.VariantRole, weight: Int, mode: Store.VariantMode,
                     isolation: Store.VariantIsolation, limits: JSON?, grants: JSON? = nil) {
            self.actor = actor
            self.config = config
            self.role = role
            self.weight = weight
            self.mode = mode
            self.isolation = isolation
            self.limits = limits
            self.grants = grants
        }
    }

    public var name: String
    /// `prod` or `test`.
    public var environment: String
    public var steps: [Step]

    package init(name: String, environment: String, steps: [Step]) {
        self.name = name
        self.environment = environment
        self.steps = steps
    }
}

extension Store {
    /// A variant's part in its step, as stored (the `variants.role` column's values).
    public enum VariantRole: String, Sendable, CaseIterable { case champion, challenger }
    /// Whether a variant serves live traffic or runs beside it (`variants.mode`).
    public enum VariantMode: String, Sendable, CaseIterable { case live, shadow }
    /// Where a variant's actor runs (`variants.isolation`).
    public enum VariantIsolation: String, Sendable, CaseIterable { case process, inprocess }
}

/// One thing a workflow runs over (a posting, a source): a key unique in its workflow
/// and the payload steps see as `subject`; and, for a workflow that runs its subjects
/// again (a heartbeat, an owner's test), the occasion this run is for.
public struct Subject: Sendable, Equatable {
    public let key: String
    public let payload: JSON
    public let occasion: RunOccasion?

    public init(key: String, payload: JSON, occasion: RunOccasion? = nil) {
        self.key = key
        self.payload = payload
        self.occasion = occasion
    }

    /// The same subject, run for `occasion`.
    public func on(_ occasion: RunOccasion?) -> Subject { Subject(key: key, payload: payload, occasion: occasion) }
}

/// Why a run exists beside the subject's other runs: one run per subject and occasion.
/// `key` is its identity (a heartbeat's time slot, so hosts serving at once add it once);
/// `trigger` is what the run's steps see as `trigger`.
public struct RunOccasion: Sendable, Equatable {
    public let key: String
    public let trigger: JSON

    public init(key: String, trigger: JSON) {
        self.key = key
        self.trigger = trigger
    }
}

/// Interaction states, as stored.
public enum InteractionStatus: String, Sendable {
    case pending, running, completed, failed
    case timedOut = "timed_out"

    public var isFinal: Bool { self == .completed || self == .failed || self == .timedOut }
}

/// An interaction already recorded for a run, read back when a host takes the run on.
public struct InteractionRecord: Sendable {
    public let id: Int64
    public let stepID: Int64
    public let parentID: Int64?
    public let status: InteractionStatus
    public let attempt: Int
    public let output: [UInt8]?
    public let error: String?
    /// The host that ran it (its lease owner).
    public var owner: String? = nil

    /// Starts the error of an interaction a draining host failed at its deadline: it was cut
    /// short by the host, not by the actor, so it does not use one of the step's attempts.
    public static let interruptedPrefix = "interrupted: "

    /// True for an interaction a draining host interrupted (see ``interruptedPrefix``).
    public var wasInterrupted: Bool { status == .failed && error?.hasPrefix(Self.interruptedPrefix) == true }

    /// Starts the error of an interaction a host died running, failed by the host that took
    /// its run over: not the actor's failure either, so it uses no attempt (within a bound).
    public static let takenBackPrefix = "taken back: "

    /// True for an interaction taken back from a dead host (see ``takenBackPrefix``).
    public var wasTakenBack: Bool { status == .failed && error?.hasPrefix(Self.takenBackPrefix) == true }
}

/// A run this host now holds the lease of, with what earlier hosts already did for it.
public struct ClaimedRun: Sendable {
    public let id: Int64
    public let subject: Subject
    /// Its interactions, oldest first. Any left `running` by a host that died were
    /// failed when the run was claimed (see ``Store/claimRuns(workflowID:owner:limit:lease:isDead:)``).
    public let history: [InteractionRecord]
}

/// A write an actor asked for (or a step's `save`), checked against the table's
/// declaration: the store applies it as a typed, parameterised statement and appends it to
/// the effect ledger, in the transaction that records the interaction.
public struct Effect: Sendable, Equatable {
    public enum Operation: String, Sendable, CaseIterable {
        /// Refused when the key exists.
        case insert
        /// Inserts or replaces; on a table with a freshness column, only with a newer row.
        case upsert
        /// Removes the row with the key, if any.
        case delete
    }

    public let operation: Operation
    public let table: TableSchema
    /// The key, as ``TableSchema/keyText(of:)`` spells it.
    public let key: String
    /// Declared columns and their values (a delete's: the key's); a short-form table's row whole.
    public let row: JSON

    public init(operation: Operation, table: TableSchema, key: String, row: JSON) {
        self.operation = operation
        self.table = table
        self.key = key
        self.row = row
    }
}

/// One entry of the append-only audit log.
public struct EventRecord: Sendable {
    public let kind: String
    /// Why it happened, for a person reading the log: "retry 2 of 3 after: …".
    public let cause: String
    public let interactionID: Int64?
    /// JSON text; its SHA-256 is stored beside it.
    public let payload: String

    public init(kind: String, cause: String, interactionID: Int64?, payload: String) {
        self.kind = kind
        self.cause = cause
        self.interactionID = interactionID
        self.payload = payload
    }
}
