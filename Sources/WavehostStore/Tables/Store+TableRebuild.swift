import WavehostJSON

/// Rebuilding a declared table from the effect ledger, and importing what an older
/// Wavehost wrote to `effect_rows`: chunked, resumable, idempotent.
extension Store {
    public struct RebuildReport: Sendable, Equatable {
        /// Ledger entries replayed.
        public var entries = 0
        /// Rows the rebuilt table holds.
        public var rows = 0
        /// Rows of the live table the rebuild added, changed and removed (or would, dry).
        public var inserted = 0
        public var updated = 0
        public var deleted = 0
        /// True when an earlier, interrupted rebuild was carried on.
        public var resumed = false
    }

    /// Replays the ledger of `name` (`namespace.table`) into a work table, `chunk` entries
    /// per transaction, then makes the live table equal to it in one transaction that holds
    /// off the table's writers. Killed part way, the next call carries on from the last
    /// chunk; on an intact table it changes nothing. `dryRun` counts what it would change
    /// and leaves the live table alone. `progress` hears the entries replayed so far and the total.
    public func rebuildTable(_ name: String, dryRun: Bool = false, chunk: Int = 10_000,
                             progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) throws(StoreError) -> RebuildReport {
        let live = try writableTable(name)
        var work = live
        work.name += "__rebuild"
        work.indexes = []
        work.references = []
        let workSQL = TableSQL(schema: work, backend: backend), liveSQL = TableSQL(schema: live, backend: backend)
        let p = { (index: Int) in self.backend == .postgres ? "$\(index)" : "?\(index)" }
        var report = RebuildReport()
        var mark = try withConnection { connection throws(StoreError) -> (through: Int64, applied: Int)? in
            guard let row = try connection.query("SELECT through_id, applied FROM table_rebuilds WHERE table_name = \(p(1))", [.text(name)]).first,
                  let through = row[0].integer, let applied = row[1].integer else { return nil }
            return (through, Int(applied))
        }
        report.resumed = mark != nil
        if mark == nil {
            try withConnection { connection throws(StoreError) in
                try connection.transaction { () throws(StoreError) in
                    try connection.execute("DROP TABLE IF EXISTS \(workSQL.table)")
                    for statement in workSQL.create { try connection.execute(statement) }
                    try connection.query("INSERT INTO table_rebuilds (table_name, through_id, applied, started_at) VALUES (\(p(1)), 0, 0, \(p(2)))",
                                         [.text(name), .integer(Store.now())])
                }
            }
            mark = (0, 0)
        }
        let total = try withConnection { connection throws(StoreError) in
            Int(try connection.query("SELECT COUNT(*) FROM effect_ledger WHERE table_name = \(p(1))", [.text(name)]).first?.first?.integer ?? 0)
        }
        var (through, applied) = mark!
        // Chunks, each committed with its mark: a killed rebuild loses at most one.
        while true {
            let count = try withConnection { connection throws(StoreError) -> Int in
                try connection.transaction { () throws(StoreError) -> Int in
                    let (last, count) = try replay(name, into: work, after: through, limit: chunk, connection)
                    guard count > 0 else { return 0 }
                    try connection.query("UPDATE table_rebuilds SET through_id = \(p(1)), applied = applied + \(p(2)) WHERE table_name = \(p(3))",
                                         [.integer(last), .integer(Int64(count)), .text(name)])
                    through = last
                    return count
                }
            }
            guard count > 0 else { break }
            applied += count
            progress?(applied, total)
        }
        // The swap: writers of the table wait, the rest of the ledger is replayed, the live table made equal.
        return try withConnection { connection throws(StoreError) -> RebuildReport in
            try connection.transaction { () throws(StoreError) -> RebuildReport in
                if backend == .postgres { try connection.execute("LOCK TABLE \(liveSQL.table) IN SHARE ROW EXCLUSIVE MODE") }
                while true {
                    let (last, count) = try replay(name, into: work, after: through, limit: chunk, connection)
                    guard count > 0 else { break }
                    through = last
                    applied += count
                }
                // An entry committed late below the mark (PostgreSQL hands ids out before commit) was missed: start over, now that writers wait.
                let below = Int(try connection.query("SELECT COUNT(*) FROM effect_ledger WHERE table_name = \(p(1)) AND id <= \(p(2))",
                                                     [.text(name), .integer(through)]).first?.first?.integer ?? 0)
                if below != applied {
                    try connection.execute("DELETE FROM \(workSQL.table)")
                    (through, applied) = (0, 0)
                    while true {
                        let (last, count) = try replay(name, into: work, after: through, limit: chunk, connection)
                        guard count > 0 else { break }
                        through = last
                        applied += count
                    }
                }
                report.entries = applied
                try countDifferences(liveSQL, workSQL, into: &report, connection)
                if !dryRun, report.inserted + report.updated + report.deleted > 0 { try makeEqual(liveSQL, to: workSQL, connection) }
                try connection.execute("DROP TABLE \(workSQL.table)")
                try connection.query("DELETE FROM table_rebuilds WHERE table_name = \(p(1))", [.text(name)])
                return report
            }
        }
    }

    /// Applies up to `limit` ledger entries of `name` after id `after` to `table`, in order,
    /// as few statements as keep their meaning (``writeInSegments(_:_:)``).
    private func replay(_ name: String, into table: TableSchema, after: Int64, limit: Int,
                        _ connection: any SQLConnection) throws(StoreError) -> (last: Int64, count: Int) {
        let p = connection.placeholder
        let entries = try connection.query("""
            SELECT id, operation, row_key, data, interaction_id, run_id, written_at, origin FROM effect_ledger \
            WHERE table_name = \(p(1)) AND id > \(p(2)) ORDER BY id LIMIT \(p(3))
            """, [.text(name), .integer(after), .integer(Int64(limit))])
        var writes: [(effect: Effect, values: [SQLValue])] = []
        writes.reserveCapacity(entries.count)
        var last = after
        for entry in entries {
            guard let id = entry[0].integer, let operation = entry[1].text, let key = entry[2].text, let data = entry[3].text,
                  let effect = Self.effect(ledgerOperation: operation, key: key, data: data, table: table) else {
                throw StoreError(.statementFailed, database: database, "effect_ledger entry after \(last) of \(name) is unreadable")
            }
            writes.append((effect, try bindings(effect, interactionID: entry[4].integer ?? 0, runID: entry[5].integer ?? 0,
                                                writtenAt: entry[6].integer ?? 0, origin: entry[7].text)))
            last = id
        }
        try writeInSegments(writes, connection)
        return (last, entries.count)
    }

    /// Rows per second of one bulk insert (multi-row INSERT on SQLite, COPY on PostgreSQL)
    /// of the rows `name` holds into a scratch table of its columns and key, dropped after:
    /// the database's floor that `tools/bench tables` prints beside a rebuild's rate.
    package func bulkInsertRowsPerSecond(copying name: String) throws(StoreError) -> (rows: Int, perSecond: Double) {
        var scratch = try writableTable(name)
        let live = TableSQL(schema: scratch, backend: backend)
        scratch.name += "__floor"
        scratch.indexes = []
        scratch.references = []
        let sql = TableSQL(schema: scratch, backend: backend)
        let names = sql.columnNames.map(TableSQL.quote).joined(separator: ", ")
        return try withConnection { connection throws(StoreError) -> (rows: Int, perSecond: Double) in
            let rows = try connection.query("SELECT \(names) FROM \(live.table)")
            try connection.execute("DROP TABLE IF EXISTS \(sql.table)")
            for statement in sql.create { try connection.execute(statement) }
            defer { try? connection.execute("DROP TABLE \(sql.table)") }
            let clock = ContinuousClock()
            let started = clock.now
            try connection.transaction { () throws(StoreError) in
                try connection.insertRows("INSERT INTO \(sql.table) (\(names))", rows, suffix: "")
            }
            let elapsed = clock.now - started
            return (rows.count, Double(rows.count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
    }

    private func keyMatch(_ sql: TableSQL, _ a: String, _ b: String) -> String {
        sql.schema.key.map { "\(a).\(TableSQL.quote($0)) = \(b).\(TableSQL.quote($0))" }.joined(separator: " AND ")
    }

    /// True where a row of `a` and one of `b` with the same key differ in any column.
    private func differs(_ sql: TableSQL, _ a: String, _ b: String) -> String {
        let jsonColumns = Set(sql.schema.columns.filter { $0.type == .json }.map(\.name))
        return sql.columnNames.map { name in
            let column = TableSQL.quote(name)
            if backend == .sqlite { return "\(a).\(column) IS NOT \(b).\(column)" }
            // PostgreSQL's json has no equality: compare as written.
            let cast = jsonColumns.contains(name) ? "::text" : ""
            return "\(a).\(column)\(cast) IS DISTINCT FROM \(b).\(column)\(cast)"
        }.joined(separator: " OR ")
    }

    private func countDifferences(_ live: TableSQL, _ work: TableSQL, into report: inout RebuildReport, _ connection: any SQLConnection) throws(StoreError) {
        func count(_ sql: String) throws(StoreError) -> Int { Int(try connection.query(sql).first?.first?.integer ?? 0) }
        report.rows = try count("SELECT COUNT(*) FROM \(work.table)")
        report.deleted = try count("SELECT COUNT(*) FROM \(live.table) AS t WHERE NOT EXISTS (SELECT 1 FROM \(work.table) AS s WHERE \(keyMatch(live, "s", "t")))")
        report.inserted = try count("SELECT COUNT(*) FROM \(work.table) AS s WHERE NOT EXISTS (SELECT 1 FROM \(live.table) AS t WHERE \(keyMatch(live, "s", "t")))")
        report.updated = try count("SELECT COUNT(*) FROM \(work.table) AS s JOIN \(live.table) AS t ON \(keyMatch(live, "s", "t")) WHERE \(differs(live, "s", "t"))")
    }

    /// Removes the live rows the work table lacks; writes the ones it has that differ.
    private func makeEqual(_ live: TableSQL, to work: TableSQL, _ connection: any SQLConnection) throws(StoreError) {
        // Rows other tables reference may be removed and written again: check references at the commit.
        try connection.execute(backend == .postgres ? "SET CONSTRAINTS ALL DEFERRED" : "PRAGMA defer_foreign_keys = ON")
        try connection.execute("DELETE FROM \(live.table) AS t WHERE NOT EXISTS (SELECT 1 FROM \(work.table) AS s WHERE \(keyMatch(live, "s", "t")))")
        let names = live.columnNames.map(TableSQL.quote).joined(separator: ", ")
        let keys = Set(live.schema.key)
        let updates = live.columnNames.filter { !keys.contains($0) }.map { "\(TableSQL.quote($0)) = excluded.\(TableSQL.quote($0))" }
        try connection.execute("""
            INSERT INTO \(live.table) AS t (\(names)) SELECT \(names) FROM \(work.table) WHERE true \
            ON CONFLICT (\(live.orderByKey)) DO UPDATE SET \(updates.joined(separator: ", ")) WHERE \(differs(live, "t", "excluded"))
            """)
    }

    /// Brings rows an older Wavehost wrote to `effect_rows` under `table`'s name into the
    /// ledger and the table, in chunks, each entry marked by its origin so a second import
    /// adds nothing. A legacy row without the table's one key column gets its old row key there.
    public func importLegacyRows(_ table: TableSchema, chunk: Int = 5_000) throws(StoreError) {
        let p = { (index: Int) in self.backend == .postgres ? "$\(index)" : "?\(index)" }
        while true {
            let imported = try withConnection { connection throws(StoreError) -> Int in
                try connection.transaction { () throws(StoreError) -> Int in
                    let rows = try connection.query("""
                        SELECT e.id, e.row_key, e.data, e.interaction_id, e.written_at, COALESCE(i.run_id, 0) FROM effect_rows e \
                        LEFT JOIN interactions i ON i.id = e.interaction_id \
                        WHERE e.table_name = \(p(1)) AND NOT EXISTS (SELECT 1 FROM effect_ledger l WHERE l.origin = \(p(2)) || CAST(e.id AS TEXT)) \
                        ORDER BY e.id LIMIT \(p(3))
                        """, [.text(table.name), .text("effect_rows:"), .integer(Int64(chunk))])
                    var ledger: [[SQLValue]] = []
                    for row in rows {
                        guard let id = row[0].integer, let key = row[1].text, let data = row[2].text else { continue }
                        let effect = try legacyEffect(table, id: id, key: key, data: data)
                        let interaction = row[3].integer ?? 0, written = row[4].integer ?? 0, run = row[5].integer ?? 0
                        try write(effect, interactionID: interaction, runID: run, writtenAt: written, origin: "effect_rows:\(id)", connection)
                        ledger.append(Self.ledgerRow(effect, interactionID: interaction, runID: run, writtenAt: written, origin: "effect_rows:\(id)"))
                    }
                    try connection.insertRows(Self.ledgerInsert, ledger, suffix: "")
                    return rows.count
                }
            }
            guard imported == chunk else { return }
        }
    }

    private func legacyEffect(_ table: TableSchema, id: Int64, key: String, data: String) throws(StoreError) -> Effect {
        guard var row = try? JSON.parse(Array(data.utf8)) else {
            throw StoreError(.tableRefused, database: database, "effect_rows row \(id) of \(table.name) is not JSON; fix or delete it, then start again")
        }
        if table.isShortForm { return Effect(operation: .upsert, table: table, key: key, row: row) }
        if table.key.count == 1, row[table.key[0]] == nil, case .object(var members) = row {
            let integer = table.column(named: table.key[0])?.type == .integer && Int64(key) != nil
            members.insert((table.key[0], integer ? .number(key) : .string(key)), at: 0)
            row = .object(members)
        }
        do { return Effect(operation: .upsert, table: table, key: try table.check(row), row: row) } catch {
            throw StoreError(.tableRefused, database: database,
                             "effect_rows row \(id) (key \(key)) does not fit the declaration of \(table.qualifiedName): \(error); "
                                 + "declare the column, or delete the old row from effect_rows")
        }
    }
}
