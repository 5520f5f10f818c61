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
    func write(_ effect: Effect, interactionID: Int64, runID: Int64, writtenAt: Int64, _ connection: any SQLConnection) throws(StoreError) {
        let sql = TableSQL(schema: effect.table, backend: backend)
        try connection.query(sql.write(effect.operation), try bindings(effect, sql, interactionID: interactionID, runID: runID, writtenAt: writtenAt))
    }

    private func bindings(_ effect: Effect, _ sql: TableSQL, interactionID: Int64, runID: Int64, writtenAt: Int64) throws(StoreError) -> [SQLValue] {
        let schema = effect.table
        if schema.isShortForm {
            if effect.operation == .delete { return [.text(effect.key)] }
            return [.text(effect.key), .text(effect.row.text), .integer(interactionID), .integer(runID), .integer(writtenAt)]
        }
        do {
            if effect.operation == .delete {
                return try schema.key.map { (name: String) throws(TableValueError) -> SQLValue in
                    try schema.sqlValue(effect.row[name] ?? .null, for: schema.column(named: name)!)
                }
            }
            var values = try schema.columns.map { (column: TableSchema.Column) throws(TableValueError) -> SQLValue in
                try schema.sqlValue(effect.row[column.name] ?? .null, for: column)
            }
            values += [.integer(interactionID), .integer(runID), .integer(writtenAt)]
            return values
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
