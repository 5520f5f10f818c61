import WavehostJSON

/// One chunk of a backfill: sorted into already imported, skipped at the cutover, conflicts
/// and imports, then (unless dry) written with its ledger entries and the position reached,
/// in one short transaction.
extension Store {
    struct BackfillChunkOutcome: Sendable {
        var imported: [String] = []
        var alreadyImported = 0
        var skipped: [String: Int] = [:]
        var conflicts = 0
    }

    /// What a backfill carries from chunk to chunk.
    struct BackfillState: Sendable {
        /// Keys a dry run would have imported in earlier chunks, so a repeated key counts as the real run counts it.
        var pending = Set<String>()
        /// The cutover guard's first canonical time per value, and the ledger entry it has
        /// read through: read whole once, then only the ledger entries since (each chunk reads
        /// what came after the last, never the whole table again).
        var firstCanonical: [SQLValue: SQLValue] = [:]
        var ledgerThrough: Int64?
    }

    /// A row with everything its sorting and writing need worked out before the chunk's
    /// transaction opens (timestamps parsed, parameters bound), so the transaction, which
    /// holds off the table's other writers, runs SQL only.
    struct PreparedRow: Sendable {
        var sourceID: String
        var origin: String
        var values: [SQLValue]
        var ledger: [SQLValue]
        var keyValues: [SQLValue]
        var key: String
        /// The cutover column's value (and its label in the report) and the time column's, as stored.
        var guarded: SQLValue?
        var label: String
        var at: SQLValue?
    }

    /// Imports `rows` (or, dry, counts what it would), carrying `state` on.
    func importChunk(_ rows: [BackfillRow], _ schema: TableSchema, _ source: String, _ options: BackfillOptions,
                     state: inout BackfillState) throws(StoreError) -> BackfillChunkOutcome {
        let before = state
        let now = Store.now()
        let guardColumn = options.cutover.flatMap { schema.column(named: $0.column) }, timeColumn = options.cutover.flatMap { schema.column(named: $0.time) }
        var prepared: [PreparedRow] = []
        prepared.reserveCapacity(rows.count)
        for row in rows {
            let origin = "backfill:\(source):\(row.sourceID)"
            let keyValues = keyValues(row.effect, schema)
            let guardJSON = guardColumn.flatMap { row.effect.row[$0.name] }
            prepared.append(PreparedRow(
                sourceID: row.sourceID, origin: origin,
                values: try bindings(row.effect, interactionID: 0, runID: 0, writtenAt: now, origin: origin),
                ledger: Self.ledgerRow(row.effect, interactionID: 0, runID: 0, writtenAt: now, origin: origin),
                keyValues: keyValues, key: Self.identity(keyValues),
                guarded: guardColumn.flatMap { value(guardJSON, $0) }, label: guardJSON?.stringValue ?? guardJSON?.text ?? "null",
                at: timeColumn.flatMap { value(row.effect.row[$0.name], $0) }))
        }
        let positionReached = rows.last?.position ?? ""
        if options.dryRun {
            let (outcome, _, after) = try withConnection { connection throws(StoreError) in
                try sort(prepared, schema, options, state: before, connection)
            }
            state = after
            return outcome
        }
        // On PostgreSQL another writer may commit a key (or another backfill an origin) between
        // the sorting and the insert: the chunk is then undone and sorted again.
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (outcome, after) = try withConnection { connection throws(StoreError) -> (BackfillChunkOutcome, BackfillState) in
                    try connection.transaction { () throws(StoreError) -> (BackfillChunkOutcome, BackfillState) in
                        // With a cutover guard on PostgreSQL, the table's writers wait from the guard's last look to the
                        // commit, so none adds a first row in between (SQLite's write transaction holds them off anyway).
                        // The lookups and the inserts come before, holding nobody off; a first row that arrived
                        // meanwhile and covers a row inserted undoes the chunk, sorted again with the lock held throughout.
                        let lock = options.cutover != nil && backend == .postgres
                            ? "LOCK TABLE \(TableSQL(schema: schema, backend: backend).table) IN SHARE ROW EXCLUSIVE MODE" : nil
                        let (outcome, writes, sorted) = try sort(prepared, schema, options, state: before, lock: attempt > 1 ? lock : nil, connection)
                        var after = sorted
                        // Inserts of distinct keys: multi-row statements (COPY on PostgreSQL).
                        let sql = TableSQL(schema: schema, backend: backend)
                        try connection.insertRows("INSERT INTO \(sql.table) (\(sql.columnNames.map(TableSQL.quote).joined(separator: ", ")))",
                                                  writes.map(\.values), suffix: "")
                        try connection.insertRows(Self.ledgerInsert, writes.map(\.ledger), suffix: "")
                        if let lock, attempt == 1, let cutover = options.cutover, let column = schema.column(named: cutover.column),
                           let time = schema.column(named: cutover.time) {
                            try connection.execute(lock)
                            try refreshFirstCanonical(&after, column, time, schema, connection)
                            let moved = writes.contains { row in
                                guard let guarded = row.guarded, let mark = after.firstCanonical[guarded] else { return false }
                                return row.at.map { Self.atOrAfter($0, mark) } ?? true
                            }
                            if moved { throw StoreError(.statementFailed, database: database, Self.guardMoved) }
                        }
                        let p = connection.placeholder
                        try connection.query("""
                            UPDATE backfills SET position = \(p(1)), imported = imported + \(p(2)), already_imported = already_imported + \(p(3)), \
                            skipped_by_cutover = skipped_by_cutover + \(p(4)), conflicts = conflicts + \(p(5)), chunks = chunks + 1, updated_at = \(p(6)) \
                            WHERE table_name = \(p(7)) AND source = \(p(8))
                            """, [.text(positionReached), .integer(Int64(outcome.imported.count)), .integer(Int64(outcome.alreadyImported)),
                                  .integer(Int64(outcome.skipped.values.reduce(0, +))), .integer(Int64(outcome.conflicts)), .integer(now),
                                  .text(schema.qualifiedName), .text(source)])
                        return (outcome, after)
                    }
                }
                state = after
                return outcome
            } catch where error.code == .statementFailed && attempt < 5 && (error.message == Self.guardMoved
                || error.message.localizedCaseInsensitiveContains("unique") || error.message.contains("duplicate key")) {
                continue
            }
        }
    }

    private static let guardMoved = "a first canonical row arrived during the chunk: sorting it again"

    /// Sorts `rows`: origin in the ledger → already imported; covered by the cutover guard →
    /// skipped; key in the table, pending (dry run) or earlier in the chunk → conflict; else
    /// written. Returns the outcome, the rows to write with their origins, and the state after.
    private func sort(_ rows: [PreparedRow], _ schema: TableSchema, _ options: BackfillOptions, state: BackfillState, lock: String? = nil,
                      _ connection: any SQLConnection) throws(StoreError) -> (BackfillChunkOutcome, [PreparedRow], BackfillState) {
        var state = state
        var outcome = BackfillChunkOutcome()
        let known = try existing(rows.map(\.origin), connection)
        // Origins are unique over the whole ledger: the same source into a second table needs a name of its own.
        if let (origin, table) = known.first(where: { $0.value != schema.qualifiedName }) {
            throw StoreError(.tableRefused, database: database, "\(origin) was imported into \(table), not \(schema.qualifiedName): "
                + "origins are unique in the ledger, so give this backfill another --source-name")
        }
        var candidates: [PreparedRow] = []
        for row in rows {
            if known[row.origin] != nil { outcome.alreadyImported += 1 } else { candidates.append(row) }
        }
        let present = try presentKeys(candidates.map(\.keyValues), schema, connection)
        if let lock { try connection.execute(lock) }
        if let cutover = options.cutover, let column = schema.column(named: cutover.column), let time = schema.column(named: cutover.time) {
            try refreshFirstCanonical(&state, column, time, schema, connection)
            candidates.removeAll { candidate in
                guard let guarded = candidate.guarded, let mark = state.firstCanonical[guarded] else { return false }
                if let at = candidate.at, !Self.atOrAfter(at, mark) { return false }
                outcome.skipped[candidate.label, default: 0] += 1
                return true
            }
        }
        var writes: [PreparedRow] = []
        var taken = Set<String>()
        for candidate in candidates {
            if present.contains(candidate.key) || state.pending.contains(candidate.key) || !taken.insert(candidate.key).inserted {
                outcome.conflicts += 1
            } else {
                writes.append(candidate)
                outcome.imported.append(candidate.sourceID)
            }
        }
        if options.dryRun { state.pending.formUnion(taken) }
        return (outcome, writes, state)
    }

    /// Brings the first canonical time of each value of `column` up to date: the first
    /// time, the table's rows no backfill imported (one scan); after, the ledger entries of
    /// the table since the last look, other than a backfill's. Run in the chunk's transaction.
    private func refreshFirstCanonical(_ state: inout BackfillState, _ column: TableSchema.Column, _ time: TableSchema.Column,
                                       _ schema: TableSchema, _ connection: any SQLConnection) throws(StoreError) {
        let p = connection.placeholder
        guard let through = state.ledgerThrough else {
            let last = try connection.query("SELECT COALESCE(MAX(id), 0) FROM effect_ledger").first?.first?.integer ?? 0
            let sql = TableSQL(schema: schema, backend: backend)
            let name = TableSQL.quote(column.name), at = TableSQL.quote(time.name)
            let selected = column.type == .timestamp && backend == .postgres ? Self.utcText(name) : name
            let earliest = time.type == .timestamp && backend == .postgres ? Self.utcText("MIN(\(at))") : "MIN(\(at))"
            for row in try connection.query("""
                SELECT \(selected), \(earliest) FROM \(sql.table) WHERE ("_origin" IS NULL OR "_origin" NOT LIKE 'backfill:%') GROUP BY \(name)
                """) {
                guard let guarded = stored(row[0], column), let mark = stored(row[1], time) else { continue }
                state.firstCanonical[guarded] = mark
            }
            state.ledgerThrough = last
            return
        }
        var last = through
        for entry in try connection.query("""
            SELECT id, CASE WHEN operation = 'delete' OR origin LIKE 'backfill:%' THEN NULL ELSE data END FROM effect_ledger \
            WHERE table_name = \(p(1)) AND id > \(p(2)) ORDER BY id
            """, [.text(schema.qualifiedName), .integer(through)]) {
            last = max(last, entry[0].integer ?? last)
            guard let data = entry[1].text, let row = try? JSON.parse(Array(data.utf8)),
                  let guarded = value(row[column.name], column), let at = value(row[time.name], time) else { continue }
            if let mark = state.firstCanonical[guarded], Self.atOrAfter(at, mark) { continue }
            state.firstCanonical[guarded] = at
        }
        state.ledgerThrough = last
    }

    /// The origins of `origins` the ledger holds, with the table each entry wrote.
    private func existing(_ origins: [String], _ connection: any SQLConnection) throws(StoreError) -> [String: String] {
        var found: [String: String] = [:]
        for start in stride(from: 0, to: origins.count, by: 500) {
            let part = Array(origins[start..<min(start + 500, origins.count)])
            for row in try connection.query("SELECT origin, table_name FROM effect_ledger WHERE origin IN (\(connection.placeholders(part.count)))",
                                            part.map(SQLValue.text)) {
                if let origin = row[0].text { found[origin] = row[1].text ?? "" }
            }
        }
        return found
    }

    /// Identities of the keys among `keys` the table holds.
    private func presentKeys(_ keys: [[SQLValue]], _ schema: TableSchema, _ connection: any SQLConnection) throws(StoreError) -> Set<String> {
        let sql = TableSQL(schema: schema, backend: backend)
        let columns = schema.key.compactMap { schema.column(named: $0) }
        let selected = columns.map { column in
            column.type == .timestamp && backend == .postgres ? Self.utcText(TableSQL.quote(column.name)) : TableSQL.quote(column.name)
        }.joined(separator: ", ")
        var found = Set<String>()
        let step = columns.count == 1 ? 500 : max(1, 400 / max(1, columns.count))
        for start in stride(from: 0, to: keys.count, by: step) {
            let part = Array(keys[start..<min(start + step, keys.count)])
            var index = 0
            let match = columns.count == 1 ? "\(TableSQL.quote(columns[0].name)) IN (\(connection.placeholders(part.count)))" : part.map { _ in
                "(" + columns.map { column in
                    index += 1
                    return "\(TableSQL.quote(column.name)) = \(connection.placeholder(index))"
                }.joined(separator: " AND ") + ")"
            }.joined(separator: " OR ")
            for row in try connection.query("SELECT \(selected) FROM \(sql.table) WHERE \(match)", part.flatMap { $0 }) {
                found.insert(Self.identity(zip(row, columns).map { stored($0, $1) ?? .null }))
            }
        }
        return found
    }

    private func keyValues(_ effect: Effect, _ schema: TableSchema) -> [SQLValue] {
        schema.key.map { name in schema.column(named: name).flatMap { value(effect.row[name], $0) } ?? .null }
    }

    /// A row's value as its column stores it; nil for null (or a value it refuses, which checked rows never hold).
    private func value(_ json: JSON?, _ column: TableSchema.Column) -> SQLValue? {
        guard let json, json != .null, let value = try? Self.anyTable.sqlValue(json, for: column),
              value != .null else { return nil }
        return value
    }

    /// A value read back from the table as a row's value would be bound (PostgreSQL gives booleans as `t`).
    private func stored(_ read: SQLValue, _ column: TableSchema.Column) -> SQLValue? {
        guard read != .null else { return nil }
        return value(Self.anyTable.json(read, for: column), column)
    }

    /// A schema with no key, for converting single values by their column alone.
    private static let anyTable = TableSchema(namespace: "", name: "", columns: [], key: [])

    /// `a >= b` for values of one column (timestamps are UTC text of one width).
    static func atOrAfter(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): x >= y
        case (.integer(let x), .real(let y)): Double(x) >= y
        case (.real(let x), .integer(let y)): x >= Double(y)
        case (.real(let x), .real(let y)): x >= y
        case (.text(let x), .text(let y)): x >= y
        default: true
        }
    }

    static func utcText(_ expression: String) -> String {
        "to_char(\(expression) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }
}
