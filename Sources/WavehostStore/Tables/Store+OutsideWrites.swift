import WavehostJSON

/// Writes to declared tables that no interaction makes: an operator's command
/// (`wavehost agents add|remove`), a tool. The same statements and ledger as an
/// interaction's effects, with the provenance conventions of docs/tables.md: interaction 0
/// and run 0 (no interaction wrote it), and the caller's origin.
extension Store {
    /// Applies `effects` (insert, upsert, delete of declared tables) and appends their
    /// ledger entries, all in one transaction: all or nothing. Rows and ledger entries carry
    /// interaction 0 and run 0; with an `origin`, each entry's ledger origin (and the row's
    /// `_origin`) is `origin`, or `origin#1`…`origin#N` for several effects. An origin is
    /// unique in the ledger, so it makes the call idempotent: when the ledger already holds
    /// it, nothing is applied and 0 is returned. Without one, every call applies.
    ///
    /// - Returns: the number of effects applied.
    /// - Throws: `.tableRefused` for a table no workflow declares, an origin of the host's
    ///   own (`backfill:…`, `effect_rows:…`) or an effect whose row does not fit its table;
    ///   `.statementFailed` when the database refuses a write (an insert of a key that
    ///   exists, a broken reference), after undoing them all.
    @discardableResult
    public func applyOutsideInteraction(_ effects: [Effect], origin: String?) throws(StoreError) -> Int {
        guard !effects.isEmpty else { return 0 }
        if let origin, origin.isEmpty || origin.hasPrefix("backfill:") || origin.hasPrefix("effect_rows:") {
            throw StoreError(.tableRefused, database: database, "the origin \"\(origin)\" is empty or one the host keeps for its imports")
        }
        var tables: [String: TableSchema] = [:]
        for effect in effects where tables[effect.table.qualifiedName] == nil {
            tables[effect.table.qualifiedName] = try writableTable(effect.table.qualifiedName)
        }
        // Checked and written by the registered declaration, whatever schema the caller built.
        var checked: [Effect] = []
        for effect in effects {
            let table = tables[effect.table.qualifiedName]!
            do {
                let key = try table.check(effect.row, deleting: effect.operation == .delete)
                checked.append(Effect(operation: effect.operation, table: table, key: key, row: effect.row))
            } catch {
                throw StoreError(.tableRefused, database: database, "\(effect.operation.rawValue) refused: \(error)")
            }
        }
        let origins: [String?] = effects.indices.map { index in origin.map { effects.count == 1 ? $0 : "\($0)#\(index + 1)" } }
        return try withConnection { connection throws(StoreError) -> Int in
            try connection.transaction { () throws(StoreError) -> Int in
                if let first = origins[0],
                   try !connection.query("SELECT 1 FROM effect_ledger WHERE origin = \(connection.placeholder(1))", [.text(first)]).isEmpty {
                    return 0
                }
                let now = Store.now()
                var ledger: [[SQLValue]] = []
                for (effect, entryOrigin) in zip(checked, origins) {
                    do throws(StoreError) {
                        try write(effect, interactionID: 0, runID: 0, writtenAt: now, origin: entryOrigin, connection)
                    } catch where error.code == .statementFailed {
                        let conflict = error.message.localizedCaseInsensitiveContains("unique") || error.message.contains("duplicate key")
                        throw StoreError(.statementFailed, database: database, conflict
                            ? "\(effect.operation.rawValue) refused: table \(effect.table.qualifiedName) already has a row with key \(effect.key); nothing was applied"
                            : "\(effect.operation.rawValue) into \(effect.table.qualifiedName) key \(effect.key) failed: \(error.message); nothing was applied")
                    }
                    ledger.append(Self.ledgerRow(effect, interactionID: 0, runID: 0, writtenAt: now, origin: entryOrigin))
                }
                try connection.insertRows(Self.ledgerInsert, ledger, suffix: "")
                return effects.count
            }
        }
    }
}
