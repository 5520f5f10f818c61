import Synchronization
import WavehostJSON

/// Declared tables: created and evolved by the host, one writer each.
extension Store {
    /// A declared table as the registry holds it.
    public struct DeclaredTable: Sendable, Equatable {
        public let schema: TableSchema
        /// The workflow that declared it writable first: it owns the table.
        public let owner: String
        /// Other workflows the owner lets write it.
        public let writers: [String]
        /// Every workflow that declared it, and how.
        public var users: [(workflow: String, access: TableDeclaration.Access)] = []
        public var rows = 0

        public static func == (a: DeclaredTable, b: DeclaredTable) -> Bool {
            a.schema == b.schema && a.owner == b.owner && a.writers == b.writers && a.rows == b.rows
        }
    }

    /// Creates the tables `workflow` writes that do not exist yet, adds the columns and
    /// indexes its file added, and records it as writer or reader; refuses — changing
    /// nothing — a second writer the owner did not name, a read of a table no workflow
    /// declared, and a column removed, retyped, or a key or freshness changed. Returns each
    /// declared table's schema as stored (a read declaration gets its owner's columns), by
    /// qualified name. Rows an older Wavehost wrote to `effect_rows` under a writable table's
    /// name are then imported (see ``importLegacyRows(_:)``).
    @discardableResult
    public func declareTables(_ declarations: [TableDeclaration], workflow: String) throws(StoreError) -> [String: TableSchema] {
        let resolved = try withConnection { connection throws(StoreError) -> [String: TableSchema] in
            try connection.transaction { () throws(StoreError) -> [String: TableSchema] in
                // Hosts starting at once take turns, so one creates a table and the others find it.
                if backend == .postgres { try connection.query("SELECT pg_advisory_xact_lock(7761)") }
                var resolved: [String: TableSchema] = [:]
                for declaration in Self.referencedFirst(declarations) {
                    resolved[declaration.schema.qualifiedName] = try declare(declaration, workflow: workflow, connection)
                }
                return resolved
            }
        }
        schemas.withLock { $0.merge(resolved) { _, new in new } }
        for declaration in declarations where declaration.access == .write {
            try importLegacyRows(resolved[declaration.schema.qualifiedName] ?? declaration.schema)
        }
        return resolved
    }

    private func declare(_ declaration: TableDeclaration, workflow: String, _ connection: any SQLConnection) throws(StoreError) -> TableSchema {
        let schema = declaration.schema
        let at = "workflow \(workflow)\(declaration.line > 0 ? ", line \(declaration.line)" : ""): table \(schema.qualifiedName)"
        func refuse(_ message: String) -> StoreError { StoreError(.tableRefused, database: database, "\(at): \(message)") }
        let p = connection.placeholder
        let existing = try registered(schema.qualifiedName, connection)
        switch (declaration.access, existing) {
        case (.read, nil):
            throw refuse("declared read-only, but no workflow declares it writable yet: run the workflow that writes it first, or declare its columns here")
        case (.read, let table?):
            try use(schema.qualifiedName, workflow, .read, connection)
            return table.schema
        case (.write, nil):
            for reference in schema.references {
                let (space, name) = TableSQL.split(reference.table, in: schema.namespace)
                guard let target = try registered("\(space).\(name)", connection) else {
                    throw refuse("column \(reference.column) references \(reference.table), which no workflow declares")
                }
                guard target.schema.key == [reference.targetColumn] else {
                    throw refuse("column \(reference.column) references \(reference.table).\(reference.targetColumn), "
                        + "which is not that table's key (\(target.schema.key.joined(separator: ", ")))")
                }
            }
            for statement in TableSQL(schema: schema, backend: backend).create { try connection.execute(statement) }
            let now = Store.now()
            try connection.query("""
                INSERT INTO declared_tables (name, schema, owner, writers, created_at, updated_at) \
                VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4)), \(p(5)), \(p(5)))
                """, [.text(schema.qualifiedName), .text(schema.json.text), .text(workflow),
                      .text(JSON.array(declaration.writers.map(JSON.string)).text), .integer(now)])
        case (.write, let table?):
            if table.owner != workflow {
                guard table.writers.contains(workflow) else {
                    throw refuse("written by workflow \(table.owner), its owner; declare it `read` here, "
                        + "or name \(workflow) under its `writers` in \(table.owner)'s file")
                }
                guard table.schema == schema else {
                    throw refuse("a second writer must declare it exactly as its owner \(table.owner) does (\(Self.describe(table.schema)))")
                }
                try addOriginColumnIfMissing(table.schema, connection)
                try use(schema.qualifiedName, workflow, .write, connection)
                return table.schema
            }
            try addOriginColumnIfMissing(table.schema, connection)
            try evolve(table.schema, to: schema, connection, refuse: refuse)
            try connection.query("UPDATE declared_tables SET schema = \(p(1)), writers = \(p(2)), updated_at = \(p(3)) WHERE name = \(p(4))",
                                 [.text(schema.json.text), .text(JSON.array(declaration.writers.map(JSON.string)).text),
                                  .integer(Store.now()), .text(schema.qualifiedName)])
        }
        try use(schema.qualifiedName, workflow, .write, connection)
        return schema
    }

    /// Adds what the file added; refuses what it removed or changed, saying what to do.
    private func evolve(_ old: TableSchema, to new: TableSchema, _ connection: any SQLConnection,
                        refuse: (String) -> StoreError) throws(StoreError) {
        let keep = "keep it as it was in the file (a column may stay unused), or declare a table of a new name and move the rows"
        guard old.isShortForm == new.isShortForm else { throw refuse("changed between the short form and declared columns: \(keep)") }
        guard old.key == new.key else { throw refuse("its key changed from (\(old.key.joined(separator: ", "))) to (\(new.key.joined(separator: ", "))): \(keep)") }
        guard old.freshness == new.freshness else { throw refuse("its freshness column changed: \(keep)") }
        guard old.references == new.references else { throw refuse("its references changed: \(keep)") }
        for column in old.columns {
            guard let now = new.column(named: column.name) else { throw refuse("column \(column.name) was removed from the file: \(keep)") }
            guard now.type == column.type else {
                throw refuse("column \(column.name) was retyped from \(column.type.rawValue) to \(now.type.rawValue): \(keep)")
            }
            guard now.required == column.required else { throw refuse("column \(column.name) changed whether it is required: \(keep)") }
        }
        let sql = TableSQL(schema: new, backend: backend)
        for column in new.columns where old.column(named: column.name) == nil {
            guard !column.required else {
                throw refuse("column \(column.name) is new and required, but the rows already there have no value for it: declare it without `required`")
            }
            try connection.execute(sql.addColumn(column))
        }
        for index in new.indexes where !old.indexes.contains(index) { try connection.execute(sql.createIndex(index)) }
    }

    /// A table created before `_origin` was a provenance column gets it (null: its rows
    /// were all written by interactions, or by an import the ledger's origin still names).
    func addOriginColumnIfMissing(_ schema: TableSchema, _ connection: any SQLConnection) throws(StoreError) {
        let p = connection.placeholder
        // The table's columns, and how many are `_origin` (a table missing altogether is left to fail where it is used).
        let found = backend == .sqlite
            ? try connection.query("SELECT COUNT(*), COUNT(CASE WHEN name = '_origin' THEN 1 END) FROM pragma_table_info(\(p(1)))",
                                   [.text("\(schema.namespace)_\(schema.name)")])
            : try connection.query("""
                SELECT COUNT(*), COUNT(CASE WHEN column_name = '_origin' THEN 1 END) FROM information_schema.columns \
                WHERE table_schema = \(p(1)) AND table_name = \(p(2))
                """, [.text(schema.namespace), .text(schema.name)])
        guard let row = found.first, (row[0].integer ?? 0) > 0, row[1].integer == 0 else { return }
        try connection.execute("ALTER TABLE \(TableSQL(schema: schema, backend: backend).table) ADD COLUMN \"_origin\" TEXT")
    }

    /// The registered schema of `name`, its table given `_origin` if it lacked it; refused when no workflow declares it.
    func writableTable(_ name: String) throws(StoreError) -> TableSchema {
        try withConnection { connection throws(StoreError) -> TableSchema in
            guard let table = try registered(name, connection) else {
                throw StoreError(.tableRefused, database: database, "no workflow declares a table \(name)")
            }
            try addOriginColumnIfMissing(table.schema, connection)
            return table.schema
        }
    }

    private func use(_ table: String, _ workflow: String, _ access: TableDeclaration.Access, _ connection: any SQLConnection) throws(StoreError) {
        let p = connection.placeholder
        try connection.query("""
            INSERT INTO table_users (table_name, workflow, access) VALUES (\(p(1)), \(p(2)), \(p(3))) \
            ON CONFLICT (table_name, workflow) DO UPDATE SET access = excluded.access
            """, [.text(table), .text(workflow), .text(access.rawValue)])
    }

    func registered(_ name: String, _ connection: any SQLConnection) throws(StoreError) -> DeclaredTable? {
        guard let row = try connection.query("SELECT schema, owner, writers FROM declared_tables WHERE name = \(connection.placeholder(1))",
                                             [.text(name)]).first else { return nil }
        guard let text = row[0].text, let json = try? JSON.parse(Array(text.utf8)), let schema = TableSchema(json: json) else {
            throw StoreError(.statementFailed, database: database, "declared_tables has an unreadable schema for \(name)")
        }
        let writers = (row[2].text.flatMap { try? JSON.parse(Array($0.utf8)) }?.arrayValue ?? []).compactMap(\.stringValue)
        return DeclaredTable(schema: schema, owner: row[1].text ?? "", writers: writers)
    }

    /// The registry's view of one table, nil when no workflow declared it.
    public func declaredTable(_ qualifiedName: String) throws(StoreError) -> DeclaredTable? {
        try withConnection { connection throws(StoreError) in try registered(qualifiedName, connection) }
    }

    /// The schema of the declared table `qualifiedName`, as last declared here or as the registry holds it.
    public func tableSchema(_ qualifiedName: String) throws(StoreError) -> TableSchema {
        if let known = schemas.withLock({ $0[qualifiedName] }) { return known }
        guard let table = try declaredTable(qualifiedName) else {
            throw StoreError(.tableRefused, database: database, "no workflow declares a table \(qualifiedName)")
        }
        schemas.withLock { $0[qualifiedName] = table.schema }
        return table.schema
    }

    /// Every declared table with its users and row count, by name.
    public func declaredTables() throws(StoreError) -> [DeclaredTable] {
        try withConnection { connection throws(StoreError) -> [DeclaredTable] in
            var tables: [DeclaredTable] = []
            for row in try connection.query("SELECT name FROM declared_tables ORDER BY name") {
                guard let name = row[0].text, var table = try registered(name, connection) else { continue }
                table.users = try connection.query("SELECT workflow, access FROM table_users WHERE table_name = \(connection.placeholder(1)) ORDER BY workflow",
                                                   [.text(name)]).compactMap { user in
                    guard let workflow = user[0].text, let access = user[1].text.flatMap(TableDeclaration.Access.init) else { return nil }
                    return (workflow, access)
                }
                let sql = TableSQL(schema: table.schema, backend: backend)
                table.rows = Int(try connection.query("SELECT COUNT(*) FROM \(sql.table)").first?.first?.integer ?? 0)
                tables.append(table)
            }
            return tables
        }
    }

    /// Declarations ordered so a referenced table is created before the table referencing it.
    static func referencedFirst(_ declarations: [TableDeclaration]) -> [TableDeclaration] {
        var ordered: [TableDeclaration] = []
        var pending = declarations
        while !pending.isEmpty {
            let done = Set(ordered.map(\.schema.qualifiedName))
            let inFile = Set(pending.map(\.schema.qualifiedName))
            let next = pending.firstIndex { declaration in
                declaration.schema.references.allSatisfy { reference in
                    let (space, name) = TableSQL.split(reference.table, in: declaration.schema.namespace)
                    let target = "\(space).\(name)"
                    return done.contains(target) || !inFile.contains(target) || target == declaration.schema.qualifiedName
                }
            } ?? 0
            ordered.append(pending.remove(at: next))
        }
        return ordered
    }

    static func describe(_ schema: TableSchema) -> String {
        schema.columns.map { "\($0.name) \($0.type.rawValue)" }.joined(separator: ", ") + "; key " + schema.key.joined(separator: ", ")
    }
}
