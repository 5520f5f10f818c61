import WavehostJSON

/// Effects as typed, parameterised statements, and the ledger that records them.
extension Store {
    static let ledgerInsert =
        "INSERT INTO effect_ledger (table_name, operation, row_key, data, interaction_id, run_id, written_at, origin)"

    static func ledgerRow(_ effect: Effect, interactionID: Int64, runID: Int64, writtenAt: Int64, origin: String? = nil) -> [SQLValue] {
        [.text(effect.table.qualifiedName), .text(effect.operation.rawValue), .text(effect.key), .text(effect.row.text),
         .integer(interactionID), .integer(runID), .integer(writtenAt), origin.map(SQLValue.text) ?? .null]
    }

    /// Writes `effect` to its table (not the ledger). A value its column refuses fails as
    /// `.statementFailed`, like a key that exists for an insert.
    func write(_ effect: Effect, interactionID: Int64, runID: Int64, writtenAt: Int64, origin: String? = nil,
               _ connection: any SQLConnection) throws(StoreError) {
        let sql = TableSQL(schema: effect.table, backend: backend)
        try connection.query(sql.write(effect.operation),
                             try bindings(effect, interactionID: interactionID, runID: runID, writtenAt: writtenAt, origin: origin))
    }

    /// The parameters of `effect`'s write: declared columns (a delete's key), then the provenance.
    func bindings(_ effect: Effect, interactionID: Int64, runID: Int64, writtenAt: Int64, origin: String? = nil) throws(StoreError) -> [SQLValue] {
        let schema = effect.table
        let provenance: [SQLValue] = [.integer(interactionID), .integer(runID), .integer(writtenAt), origin.map(SQLValue.text) ?? .null]
        if schema.isShortForm {
            if effect.operation == .delete { return [.text(effect.key)] }
            return [.text(effect.key), .text(effect.row.text)] + provenance
        }
        do {
            if effect.operation == .delete {
                return try schema.key.map { (name: String) throws(TableValueError) -> SQLValue in
                    try schema.sqlValue(effect.row[name] ?? .null, for: schema.column(named: name)!)
                }
            }
            let values = try schema.columns.map { (column: TableSchema.Column) throws(TableValueError) -> SQLValue in
                try schema.sqlValue(effect.row[column.name] ?? .null, for: column)
            }
            return values + provenance
        } catch {
            // The engine checks rows before they reach a commit; this is the store's own guard.
            throw StoreError(.statementFailed, database: database, "effect refused: \(error)")
        }
    }

    /// An effect as the ledger recorded it, for a rebuild.
    static func effect(ledgerOperation operation: String, key: String, data: String, table: TableSchema) -> Effect? {
        guard let operation = Effect.Operation(rawValue: operation), let row = try? JSON.parse(Array(data.utf8)) else { return nil }
        return Effect(operation: operation, table: table, key: key, row: row)
    }
}

/// A batch's effects in few statements: what lets a commit of hundreds of interactions that
/// each write a row cost a handful of statements, not one (and a savepoint) per interaction.
extension Store {
    /// Applies the effects of every interaction in `finishes` inside one savepoint, table by
    /// table (referenced tables first), consecutive inserts or upserts of distinct keys as
    /// one multi-row statement. Any failure undoes them all and returns false: the caller
    /// then applies each interaction's effects on its own, so a refusal is that one's alone.
    func applyTogether(_ finishes: [InteractionFinish], now: Int64, ledger: inout [[SQLValue]],
                       _ connection: any SQLConnection) throws(StoreError) -> Bool {
        var order: [String] = []
        var byTable: [String: [(effect: Effect, values: [SQLValue])]] = [:]
        for finish in finishes {
            for effect in finish.effects {
                let name = effect.table.qualifiedName
                if byTable[name] == nil { order.append(name) }
                let values: [SQLValue]
                do { values = try bindings(effect, interactionID: finish.id, runID: finish.runID, writtenAt: now) } catch { return false }
                byTable[name, default: []].append((effect, values))
            }
        }
        // A referencing table after the tables it references.
        order.sort { (byTable[$0]![0].effect.table.references.isEmpty ? 0 : 1) < (byTable[$1]![0].effect.table.references.isEmpty ? 0 : 1) }
        try connection.execute("SAVEPOINT effects_together")
        do {
            for name in order { try writeInSegments(byTable[name]!, connection) }
        } catch where error.code == .statementFailed {
            try connection.execute("ROLLBACK TO SAVEPOINT effects_together")
            try connection.execute("RELEASE SAVEPOINT effects_together")
            return false
        }
        try connection.execute("RELEASE SAVEPOINT effects_together")
        for finish in finishes {
            for effect in finish.effects { ledger.append(Self.ledgerRow(effect, interactionID: finish.id, runID: finish.runID, writtenAt: now)) }
        }
        return true
    }

    /// One table's writes in order, consecutive inserts, or upserts, of distinct keys as one
    /// multi-row statement (``SQLConnection/insertRows(_:_:suffix:)``: 64 rows a statement on
    /// SQLite, COPY or hundreds of rows on PostgreSQL). A repeated key (as stored: two
    /// spellings of one timestamp are one key), a change of operation or a delete writes out
    /// what came before it first, so the rows land as they would one by one.
    func writeInSegments(_ writes: [(effect: Effect, values: [SQLValue])], _ connection: any SQLConnection) throws(StoreError) {
        guard let schema = writes.first?.effect.table else { return }
        let sql = TableSQL(schema: schema, backend: backend)
        // Each operation's one-row statement, made once: building its text costs more than running it.
        var singles: [Effect.Operation: String] = [:]
        for operation in Effect.Operation.allCases { singles[operation] = sql.write(operation) }
        let names = sql.columnNames.map(TableSQL.quote).joined(separator: ", ")
        // Where the key's values are among a write's parameters (a delete's are the key alone).
        let keyPositions = schema.key.compactMap { name in schema.columns.firstIndex { $0.name == name } }
        var operation: Effect.Operation?
        var rows: [[SQLValue]] = []
        var keys = Set<String>()
        func flush() throws(StoreError) {
            defer { (rows, keys) = ([], []) }
            guard let operation, !rows.isEmpty, let single = singles[operation] else { return }
            guard rows.count > 1, operation != .delete, let clause = operation == .upsert ? single.range(of: " ON CONFLICT ") : single.endIndex..<single.endIndex
            else {
                for row in rows { try connection.query(single, row) }
                return
            }
            // A plain insert's prefix names no alias: on PostgreSQL many rows go through COPY.
            let prefix = operation == .insert ? "INSERT INTO \(sql.table) (\(names))" : String(single[..<single.range(of: " VALUES ")!.lowerBound])
            try connection.insertRows(prefix, rows, suffix: String(single[clause.lowerBound...]))
        }
        for (effect, values) in writes {
            let key = Self.identity(effect.operation == .delete ? values : keyPositions.map { values[$0] })
            if effect.operation != operation || effect.operation == .delete || keys.contains(key) { try flush() }
            operation = effect.operation
            keys.insert(key)
            rows.append(values)
        }
        try flush()
    }

    /// Key values as one string, each with its kind and length: equal exactly when the
    /// values are (cheaper than `description`, which reflects over the enum).
    static func identity(_ values: [SQLValue]) -> String {
        var text = ""
        for value in values {
            switch value {
            case .null: text += "n;"
            case .integer(let number): text += "i\(number);"
            case .real(let number): text += "r\(number.bitPattern);"
            case .text(let string): text += "t\(string.utf8.count):" + string
            case .blob(let bytes): text += "b\(bytes.count):" + bytes.map { String($0) }.joined(separator: ",")
            }
        }
        return text
    }
}
