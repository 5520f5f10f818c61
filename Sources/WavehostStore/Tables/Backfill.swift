import WavehostJSON

/// Where a backfill's history rows come from (``Store/backfill(into:from:options:progress:)``).
public enum BackfillSource: Sendable, Equatable {
    /// Another table of the same database, read as JSON by column name, in the order of
    /// the source id column. Any name: quoted as one identifier, except `schema.table` on
    /// PostgreSQL and a declared table's `namespace.name`, which name that table. A view
    /// works too (choose or rename columns with one).
    case table(String)
    /// A JSONL file: one JSON object a line, in the file's order; blank lines are skipped.
    case jsonl(path: String)
}

/// How a backfill runs: what identifies a source row, how big a chunk is, the cutover guard.
public struct BackfillOptions: Sendable, Equatable {
    /// The cutover guard: for each value of `column`, source rows whose `time` is at or
    /// after the earliest row of the target with that value that no backfill imported are
    /// skipped (the new writers already recorded that stretch of history).
    public struct Cutover: Sendable, Equatable {
        public var column: String
        public var time: String

        public init(column: String, time: String) {
            self.column = column
            self.time = time
        }
    }

    /// The source field (column) that identifies a source row, unique in the source. It is
    /// kept in the row only when the target declares a column of that name.
    public var sourceID: String
    /// The name origins carry (`backfill:NAME:ID`); by default the table's name as given,
    /// or the file's name without its folder (so a moved file is the same source).
    public var sourceName: String?
    /// Source rows per chunk: each chunk is one short transaction.
    public var chunk: Int
    /// How long to wait between chunks, so the table's other writers get their turn.
    public var pause: Duration
    /// Count what a real run would import, and write nothing (not even progress).
    public var dryRun: Bool
    public var cutover: Cutover?

    public init(sourceID: String, sourceName: String? = nil, chunk: Int = 1_000, pause: Duration = .milliseconds(50),
                dryRun: Bool = false, cutover: Cutover? = nil) {
        self.sourceID = sourceID
        self.sourceName = sourceName
        self.chunk = chunk
        self.pause = pause
        self.dryRun = dryRun
        self.cutover = cutover
    }
}

/// What a backfill did, or (dry run) would do: counts of the source rows it read.
public struct BackfillReport: Sendable, Equatable {
    /// The source's name, as origins carry it.
    public var source: String
    public var dryRun: Bool
    /// Source rows read by this run (after the resume point, when it carried one on).
    public var read = 0
    public var imported = 0
    /// Rows whose origin (`backfill:SOURCE:ID`) the ledger already holds: a re-run imports nothing twice.
    public var alreadyImported = 0
    /// Rows the cutover guard skipped, by the guarded column's value.
    public var skippedByCutover: [String: Int] = [:]
    /// Rows whose key the target already has (written by anyone: history is never overwritten).
    public var conflicts = 0
    /// Chunks committed (dry run: read).
    public var chunks = 0
    /// The first source ids imported, in order (at most ``BackfillReport/idLimit``).
    public var importedIDs: [String] = []
    /// The position an interrupted backfill of this source was carried on from, and what it had imported.
    public var resumedAfter: String?
    public var importedBefore = 0

    public static let idLimit = 21

    public var skipped: Int { skippedByCutover.values.reduce(0, +) }

    public init(source: String, dryRun: Bool) {
        self.source = source
        self.dryRun = dryRun
    }
}

/// One row of a backfill's source, as read: where it is, and the object (or why there is none).
struct BackfillItem {
    /// `line 7` for a file; nil for a table.
    var place: String?
    var object: JSON?
    var problem: String?
    /// The position to carry on after, once this row's chunk is committed.
    var position: String
}

/// A source row made into the insert it becomes.
struct BackfillRow {
    var sourceID: String
    var effect: Effect
    var position: String
}
