import WavehostJSON

/// Reading declared tables: a workflow's subjects, a step's `lookup`, the CLI.
extension Store {
    /// Every row of `table`, by key: a declared table's non-null columns, a short-form
    /// table's row as written.
    public func rows(of table: TableSchema) throws(StoreError) -> [(key: String, row: JSON)] {
        let sql = TableSQL(schema: table, backend: backend)
        return try withConnection { connection throws(StoreError) -> [(key: String, row: JSON)] in
            var rows: [(key: String, row: JSON)] = []
            for values in try connection.query("SELECT \(sql.selectList) FROM \(sql.table) ORDER BY \(sql.orderByKey)") {
                rows.append(try decode(values, table))
            }
            return rows
        }
    }

    /// The row of a one-column-key `table` whose key is `key`, if there is one.
    public func row(of table: TableSchema, key: String) throws(StoreError) -> JSON? {
        let sql = TableSQL(schema: table, backend: backend)
        guard table.key.count == 1, let column = table.column(named: table.key[0]) else {
            throw StoreError(.tableRefused, database: database, "table \(table.qualifiedName): a lookup needs a key of one column")
        }
        let bound: SQLValue = column.type == .integer ? (Int64(key).map(SQLValue.integer) ?? .text(key)) : .text(key)
        return try withConnection { connection throws(StoreError) -> JSON? in
            guard let values = try connection.query(
                "SELECT \(sql.selectList) FROM \(sql.table) WHERE \(TableSQL.quote(column.name)) = \(connection.placeholder(1))", [bound]).first
            else { return nil }
            return try decode(values, table).row
        }
    }

    /// Rows of the table a workflow names `name` (`namespace.table`, or a table of the
    /// default namespace): for tests and tools that know no declaration.
    public func rows(ofTable name: String) throws(StoreError) -> [(key: String, row: JSON)] {
        try rows(of: try tableSchema(TableSchema.qualified(name)))
    }

    private func decode(_ values: [SQLValue], _ table: TableSchema) throws(StoreError) -> (key: String, row: JSON) {
        var members: [(key: String, value: JSON)] = []
        for (column, value) in zip(table.columns, values) where value != .null {
            members.append((column.name, table.json(value, for: column)))
        }
        let row = JSON.object(members)
        if table.isShortForm { return (row["key"]?.stringValue ?? "", row["data"] ?? .null) }
        do { return (try table.keyText(of: row), row) } catch {
            throw StoreError(.statementFailed, database: database, "table \(table.qualifiedName) has a row without its key: \(error)")
        }
    }
}
