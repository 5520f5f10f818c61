import Foundation
import WavehostJSON

/// `wavehost backfill`: history rows from another table or a JSONL export into a declared
/// table, as `insert` effects with ledger entries: chunked, resumable, idempotent, guarded
/// at the cutover, and never touching another table. docs/tables.md, "Backfill", is the contract.
extension Store {
    /// Imports the rows of `source` into `table` (a declared table; only it and the ledger are
    /// written). First every remaining source row is read and checked against the table's
    /// declared columns: any that does not fit (or a JSONL line that is not an object, or a
    /// source id missing or repeated) stops the backfill before it writes anything, with
    /// every refusal named. Then, chunk by chunk, each chunk its own short transaction that
    /// also records the position reached (table `backfills`), each row is inserted with its
    /// ledger entry, whose origin `backfill:SOURCE:ID` is unique: a row whose origin the
    /// ledger holds is counted as already imported, one whose key the table holds as a
    /// conflict (never overwritten), one the cutover guard covers as skipped. Killed, the next
    /// call carries on after the last committed chunk. `progress` hears the report after each chunk.
    public func backfill(into table: TableSchema, from source: BackfillSource, options: BackfillOptions,
                         progress: ((BackfillReport) -> Void)? = nil) throws(StoreError) -> BackfillReport {
        let schema = try writableTable(table.qualifiedName)
        let name = try Self.sourceName(source, options, database: database)
        try check(options, schema)
        let p = { (index: Int) in self.backend == .postgres ? "$\(index)" : "?\(index)" }
        let mark = try withConnection { connection throws(StoreError) -> (position: String?, imported: Int)? in
            guard let row = try connection.query("""
                SELECT position, imported FROM backfills WHERE table_name = \(p(1)) AND source = \(p(2)) AND finished_at IS NULL
                """, [.text(schema.qualifiedName), .text(name)]).first else { return nil }
            return (row[0].text, Int(row[1].integer ?? 0))
        }
        var report = BackfillReport(source: name, dryRun: options.dryRun)
        report.resumedAfter = mark?.position
        report.importedBefore = mark?.imported ?? 0

        // Everything still to import, checked before anything is written.
        let checking = try BackfillReader(source, sourceID: options.sourceID, after: mark?.position, store: self)
        var refusals = try checking.idProblems()
        var refused = refusals.count
        var seen = Set<String>()
        while true {
            let items = try checking.next(options.chunk)
            guard !items.isEmpty else { break }
            for item in items {
                switch row(item, schema, options, fromTable: source.isTable) {
                case .success(let row):
                    if !source.isTable, !seen.insert(row.sourceID).inserted {
                        refused += 1
                        if refusals.count < 20 { refusals.append("\(item.place ?? "source id \(row.sourceID)"): source id \(row.sourceID) is not unique") }
                    }
                case .failure(let refusal):
                    refused += 1
                    if refusals.count < 20 { refusals.append(refusal.message) }
                }
            }
        }
        guard refused == 0 else {
            throw StoreError(.tableRefused, database: database, "\(refused) source row\(refused == 1 ? "" : "s") of \(name) refused for "
                + "\(schema.qualifiedName); nothing was imported:\n  " + refusals.joined(separator: "\n  ")
                + (refused > refusals.count ? "\n  (and \(refused - refusals.count) more)" : ""))
        }

        if !options.dryRun, mark == nil {
            try withConnection { connection throws(StoreError) in
                let now = Store.now()
                try connection.query("""
                    INSERT INTO backfills (table_name, source, position, started_at, updated_at) VALUES (\(p(1)), \(p(2)), NULL, \(p(3)), \(p(3))) \
                    ON CONFLICT (table_name, source) DO UPDATE SET position = NULL, imported = 0, already_imported = 0, skipped_by_cutover = 0, \
                    conflicts = 0, chunks = 0, started_at = excluded.started_at, updated_at = excluded.updated_at, finished_at = NULL
                    """, [.text(schema.qualifiedName), .text(name), .integer(now)])
            }
        }
        let reader = try BackfillReader(source, sourceID: options.sourceID, after: mark?.position, store: self)
        var state = BackfillState()
        while true {
            let items = try reader.next(options.chunk)
            guard !items.isEmpty else { break }
            var rows: [BackfillRow] = []
            for item in items {
                switch row(item, schema, options, fromTable: source.isTable) {
                case .success(let row): rows.append(row)
                case .failure(let refusal):
                    throw StoreError(.tableRefused, database: database, "the source changed since it was checked: \(refusal.message); "
                        + "the chunks before it are imported, and a run again carries on from there")
                }
            }
            let outcome = try importChunk(rows, schema, name, options, state: &state)
            report.read += rows.count
            report.imported += outcome.imported.count
            report.alreadyImported += outcome.alreadyImported
            report.conflicts += outcome.conflicts
            report.skippedByCutover.merge(outcome.skipped, uniquingKeysWith: +)
            report.chunks += 1
            report.importedIDs += outcome.imported.prefix(BackfillReport.idLimit - report.importedIDs.count)
            progress?(report)
            if !options.dryRun, options.pause > .zero {
                Thread.sleep(forTimeInterval: Double(options.pause.components.seconds) + Double(options.pause.components.attoseconds) / 1e18)
            }
        }
        if !options.dryRun {
            try withConnection { connection throws(StoreError) in
                try connection.query("UPDATE backfills SET finished_at = \(p(1)), updated_at = \(p(1)) WHERE table_name = \(p(2)) AND source = \(p(3))",
                                     [.integer(Store.now()), .text(schema.qualifiedName), .text(name)])
            }
        }
        return report
    }

    /// The name origins carry: the option, else the table as named, else the file's name.
    static func sourceName(_ source: BackfillSource, _ options: BackfillOptions, database: String) throws(StoreError) -> String {
        let name: String
        switch source {
        case .table(let table): name = options.sourceName ?? table
        case .jsonl(let path): name = options.sourceName ?? URL(fileURLWithPath: path).lastPathComponent
        }
        guard !name.isEmpty, !name.contains(":") else {
            throw StoreError(.tableRefused, database: database, "the source name \"\(name)\" may not be empty or hold ':' (origins are backfill:NAME:ID); give another with --source-name")
        }
        return name
    }

    private func check(_ options: BackfillOptions, _ schema: TableSchema) throws(StoreError) {
        func refuse(_ message: String) -> StoreError { StoreError(.tableRefused, database: database, "backfill into \(schema.qualifiedName): \(message)") }
        guard !schema.isShortForm else { throw refuse("a short-form table has no declared columns to check rows against; declare its columns") }
        guard options.chunk > 0 else { throw refuse("the chunk size must be 1 or more") }
        guard !options.sourceID.isEmpty else { throw refuse("a source id field is required") }
        guard let cutover = options.cutover else { return }
        let declared = schema.columns.map(\.name).joined(separator: ", ")
        guard let column = schema.column(named: cutover.column), column.type != .json, column.type != .real else {
            throw refuse("the cutover column \(cutover.column) must be a declared column of type text, integer, boolean or timestamp (declared: \(declared))")
        }
        guard let time = schema.column(named: cutover.time), [.timestamp, .integer, .real].contains(time.type) else {
            throw refuse("the cutover time column \(cutover.time) must be a declared column of type timestamp, integer or real (declared: \(declared))")
        }
    }

    /// A source item as the insert it becomes, or why it is refused (naming its place, source id, column and type).
    private func row(_ item: BackfillItem, _ schema: TableSchema, _ options: BackfillOptions, fromTable: Bool) -> Result<BackfillRow, BackfillRefusal> {
        let place = item.place.map { $0 + ": " } ?? ""
        guard let object = item.object, case .object(let members) = object else {
            return .failure(BackfillRefusal("\(place)\(item.problem ?? "not a JSON object")"))
        }
        let id: String
        switch object[options.sourceID] ?? .null {
        case .string(let text): id = text
        case .number(let literal) where Int64(literal) != nil: id = literal
        case .null: return .failure(BackfillRefusal("\(place)no source id \(options.sourceID)"))
        default: return .failure(BackfillRefusal("\(place)the source id \(options.sourceID) must be text or an integer"))
        }
        var kept: [(key: String, value: JSON)] = []
        for (name, value) in members {
            if name == options.sourceID, schema.column(named: name) == nil { continue }
            if fromTable, TableSchema.provenanceColumns.contains(name) { continue }
            kept.append((name, fromTable ? Self.fromSQL(value, schema.column(named: name)) : value))
        }
        let row = JSON.object(kept)
        do {
            let key = try schema.check(row)
            return .success(BackfillRow(sourceID: id, effect: Effect(operation: .insert, table: schema, key: key, row: row), position: item.position))
        } catch {
            return .failure(BackfillRefusal("\(place)source id \(id): \(error)"))
        }
    }

    /// A value a table source gave, as the JSON its column takes: SQLite has no booleans
    /// (0 and 1) and reads json columns as text.
    private static func fromSQL(_ value: JSON, _ column: TableSchema.Column?) -> JSON {
        switch (column?.type, value) {
        case (.boolean?, .number("0")): .bool(false)
        case (.boolean?, .number("1")): .bool(true)
        case (.json?, .string(let text)): (try? JSON.parse(Array(text.utf8))) ?? value
        default: value
        }
    }
}

struct BackfillRefusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension BackfillSource {
    var isTable: Bool { if case .table = self { true } else { false } }
}
