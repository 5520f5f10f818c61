/// The SQL a declared table takes on each backend. Every identifier comes from a checked
/// ``TableSchema`` and is quoted besides; every value is a bound parameter.
struct TableSQL {
    let schema: TableSchema
    let backend: Store.Backend

    /// `"data"."postings"` on PostgreSQL, `"data_postings"` on SQLite.
    var table: String { Self.name(schema.namespace, schema.name, backend) }

    static func name(_ namespace: String, _ table: String, _ backend: Store.Backend) -> String {
        backend == .postgres ? "\(quote(namespace)).\(quote(table))" : quote("\(namespace)_\(table)")
    }

    /// `namespace.name` as its parts; a bare name is in `namespace`.
    static func split(_ qualified: String, in namespace: String) -> (String, String) {
        let parts = qualified.split(separator: ".", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (namespace, qualified)
    }

    static func quote(_ identifier: String) -> String { "\"\(identifier)\"" }

    /// Declared columns, then the provenance ones.
    var columnNames: [String] { schema.columns.map(\.name) + TableSchema.provenanceColumns }

    func type(_ column: TableSchema.Column) -> String {
        switch (column.type, backend) {
        case (.text, _): "TEXT"
        case (.integer, .sqlite): "INTEGER"
        case (.integer, .postgres): "BIGINT"
        case (.real, .sqlite): "REAL"
        case (.real, .postgres): "DOUBLE PRECISION"
        case (.boolean, .sqlite): "INTEGER CHECK (\(Self.quote(column.name)) IN (0, 1))"
        case (.boolean, .postgres): "BOOLEAN"
        case (.timestamp, .sqlite): "TEXT"
        case (.timestamp, .postgres): "TIMESTAMPTZ"
        // `json`, not `jsonb`: jsonb refuses `\u0000` and reorders members; this keeps what was written.
        case (.json, .sqlite): "TEXT"
        case (.json, .postgres): "JSON"
        }
    }

    func definition(_ column: TableSchema.Column) -> String {
        let required = column.required || schema.key.contains(column.name)
        return "\(Self.quote(column.name)) \(type(column))\(required ? " NOT NULL" : "")"
    }

    /// CREATE TABLE (and its namespace and indexes). References are checked per statement,
    /// so an effect that breaks one is refused with its interaction (never at the commit of a
    /// whole batch); they are deferrable, so a rebuild may replace referenced rows in one transaction.
    var create: [String] {
        let integer = backend == .postgres ? "BIGINT" : "INTEGER"
        var parts = schema.columns.map(definition)
        parts += ["\"_interaction_id\" \(integer) NOT NULL", "\"_run_id\" \(integer) NOT NULL", "\"_written_at\" \(integer) NOT NULL", "\"_origin\" TEXT"]
        parts.append("PRIMARY KEY (\(schema.key.map(Self.quote).joined(separator: ", ")))")
        for reference in schema.references {
            let (space, name) = Self.split(reference.table, in: schema.namespace)
            let target = Self.name(space, name, backend)
            parts.append("FOREIGN KEY (\(Self.quote(reference.column))) REFERENCES \(target) (\(Self.quote(reference.targetColumn))) DEFERRABLE INITIALLY IMMEDIATE")
        }
        var statements: [String] = []
        if backend == .postgres { statements.append("CREATE SCHEMA IF NOT EXISTS \(Self.quote(schema.namespace))") }
        statements.append("CREATE TABLE \(table) (\n    \(parts.joined(separator: ",\n    "))\n)")
        statements += schema.indexes.map(createIndex)
        return statements
    }

    func createIndex(_ columns: [String]) -> String {
        let name = Self.quote(([backend == .sqlite ? "\(schema.namespace)_\(schema.name)" : schema.name] + columns + ["index"]).joined(separator: "_"))
        return "CREATE INDEX IF NOT EXISTS \(name) ON \(table) (\(columns.map(Self.quote).joined(separator: ", ")))"
    }

    func addColumn(_ column: TableSchema.Column) -> String {
        "ALTER TABLE \(table) ADD COLUMN \(definition(column))"
    }

    private func placeholder(_ index: Int) -> String { backend == .postgres ? "$\(index)" : "?\(index)" }

    /// The write of one effect: parameters are the declared columns' values, then the provenance.
    func write(_ operation: Effect.Operation) -> String {
        let names = columnNames
        if operation == .delete {
            let match = schema.key.enumerated().map { "\(Self.quote($1)) = \(placeholder($0 + 1))" }
            return "DELETE FROM \(table) WHERE \(match.joined(separator: " AND "))"
        }
        let insert = "INSERT INTO \(table) AS t (\(names.map(Self.quote).joined(separator: ", "))) "
            + "VALUES (\(names.indices.map { placeholder($0 + 1) }.joined(separator: ", ")))"
        guard operation == .upsert else { return insert }
        let keys = Set(schema.key)
        let updates = names.filter { !keys.contains($0) }.map { "\(Self.quote($0)) = excluded.\(Self.quote($0))" }
        let conflict = " ON CONFLICT (\(schema.key.map(Self.quote).joined(separator: ", "))) DO "
        guard !updates.isEmpty else { return insert + conflict + "NOTHING" }
        var sql = insert + conflict + "UPDATE SET " + updates.joined(separator: ", ")
        if let freshness = schema.freshness {
            // Written only when newer: last write wins by the event's time, not by arrival.
            sql += " WHERE excluded.\(Self.quote(freshness)) > t.\(Self.quote(freshness))"
        }
        return sql
    }

    /// The columns to read back, in declared order, timestamps as RFC 3339 UTC on both backends.
    var selectList: String {
        schema.columns.map { column in
            let name = Self.quote(column.name)
            guard backend == .postgres, column.type == .timestamp else { return name }
            return "to_char(\(name) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        }.joined(separator: ", ")
    }

    var orderByKey: String { schema.key.map(Self.quote).joined(separator: ", ") }
}
