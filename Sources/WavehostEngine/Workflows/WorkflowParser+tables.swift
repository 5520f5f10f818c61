import WavehostStore
import Yams

/// `namespace:` and `tables:` (or the older `writable_tables:`), and the steps' uses of
/// tables: every fault with its file, line and column.
extension WorkflowParser {
    /// `namespace: jobs`: lower-case letters and digits (no `_`: on SQLite a table is
    /// `namespace_name`, so an underscore would let two pairs meet), starting with a letter,
    /// at most 16 characters, never one of ``TableSchema/reservedNamespaces``.
    func namespace(_ node: Node?) throws(WorkflowError) -> String {
        guard let node else { return TableSchema.defaultNamespace }
        let name = try string(node, "namespace")
        if let problem = Self.namespaceProblem(name) { throw fault(node, "namespace: \(problem)") }
        return name
    }

    /// Why `name` cannot be a namespace, or nil when it can.
    static func namespaceProblem(_ name: String) -> String? {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else {
            return "\"\(name)\" must start with a lower-case letter"
        }
        guard name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) }) else {
            return "\"\(name)\" may hold only lower-case letters and digits (no _: on SQLite a table is namespace_name)"
        }
        guard name.utf8.count <= 16 else { return "\"\(name)\" is longer than 16 characters" }
        guard !TableSchema.reservedNamespaces.contains(name) else { return "\"\(name)\" is reserved for the host's own tables" }
        return nil
    }

    /// The file's declarations: `tables:` as a list of names (each a short-form table it
    /// writes) or as a mapping of names to `json`, `read` or a full declaration; or
    /// `writable_tables:`, the older spelling of the list.
    func tables(_ top: Node.Mapping, namespace: String) throws(WorkflowError) -> [TableDeclaration] {
        let tablesNode = top["tables"]
        if tablesNode != nil, let legacy = top.first(where: { $0.key.string == "writable_tables" })?.key {
            throw fault(legacy, "give either \"tables\" or \"writable_tables\" (its older spelling), not both")
        }
        guard let node = tablesNode ?? top["writable_tables"] else { return [] }
        let what = tablesNode == nil ? "writable_tables" : "tables"
        var declarations: [TableDeclaration] = []
        var places: [String: Node] = [:]
        func add(_ declaration: TableDeclaration, at nameNode: Node) throws(WorkflowError) {
            if let first = places[declaration.schema.qualifiedName] {
                throw fault(nameNode, "table \(declaration.schema.qualifiedName) is declared twice (first at line \(first.mark?.line ?? 0))")
            }
            places[declaration.schema.qualifiedName] = nameNode
            declarations.append(declaration)
        }
        if node.sequence != nil {
            for item in try sequence(node, what) {
                let (space, name) = try tableName(item, what: what, namespace: namespace)
                try add(TableDeclaration(schema: .shortForm(namespace: space, name: name), access: .write, line: item.mark?.line ?? 0), at: item)
            }
            return declarations
        }
        guard let entries = node.mapping, tablesNode != nil else {
            throw fault(node, "\(what) must be a list of table names or a mapping of names to declarations")
        }
        var pending: [(TableDeclaration, Node.Mapping, Node)] = []
        for (key, value) in entries {
            let (space, name) = try tableName(key, what: what, namespace: namespace)
            let line = key.mark?.line ?? 0
            let label = "table \(key.string ?? name)"
            switch value {
            case .scalar where value.string == "json":
                try add(TableDeclaration(schema: .shortForm(namespace: space, name: name), access: .write, line: line), at: key)
            case .scalar where value.string == "read":
                try add(TableDeclaration(schema: TableSchema(namespace: space, name: name, columns: [], key: []), access: .read, line: line), at: key)
            case .mapping:
                let fields = try mapping(value, label, keys: ["columns", "key", "indexes", "references", "freshness", "writers"])
                let declaration = try fullDeclaration(fields, value, label: label, namespace: space, name: name, line: line)
                try add(declaration, at: key)
                pending.append((declaration, fields, value))
            default:
                throw fault(value, "\(label): write json (a short-form table: key and data), read (another workflow's table), "
                    + "or a mapping with columns and key, not \"\(value.string ?? "?")\"")
            }
        }
        // References last: their tables may be declared below them.
        for (declaration, fields, _) in pending {
            guard let node = fields["references"] else { continue }
            for (reference, (_, targetNode)) in zip(declaration.schema.references, Array(node.mapping!)) {
                guard let target = declarations.first(where: { $0.schema.qualifiedName == reference.table }) else {
                    throw fault(targetNode, "table \(declaration.schema.name): references \(reference.column) → \(reference.table), "
                        + "a table this file does not declare: declare it under tables: (as read when another workflow writes it)")
                }
                guard target.access == .write else { continue }  // a read declaration's columns are its owner's
                guard let column = target.schema.column(named: reference.targetColumn) else {
                    throw fault(targetNode, "table \(declaration.schema.name): references \(reference.table).\(reference.targetColumn), "
                        + "which is not a column of \(reference.table) (\(target.schema.columns.map(\.name).joined(separator: ", ")))")
                }
                guard target.schema.key == [column.name] else {
                    throw fault(targetNode, "table \(declaration.schema.name): references \(reference.table).\(column.name), "
                        + "which is not the key of \(reference.table) (its key: \(target.schema.key.joined(separator: ", ")))")
                }
                if let own = declaration.schema.column(named: reference.column), own.type != column.type {
                    throw fault(targetNode, "table \(declaration.schema.name): column \(own.name) is \(own.type.rawValue) "
                        + "but references \(reference.table).\(column.name), which is \(column.type.rawValue)")
                }
            }
        }
        return declarations
    }

    /// `name` or `namespace.name`, checked; an unqualified one is in `namespace`.
    private func tableName(_ node: Node, what: String, namespace: String) throws(WorkflowError) -> (String, String) {
        let text = try string(node, "\(what): a table name")
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw fault(node, "\(what): \"\(text)\" is not a table name (write name or namespace.name)") }
        if parts.count == 2, let problem = Self.namespaceProblem(parts[0]) { throw fault(node, "\(what): table \(text): namespace \(problem)") }
        if let problem = TableSchema.identifierProblem(parts.last!) { throw fault(node, "\(what): table name \(problem)") }
        return parts.count == 2 ? (parts[0], parts[1]) : (namespace, text)
    }

    /// `{columns: {col: type | {type: T, required: true}}, key: col | [col, …], indexes: […],
    /// references: {col: table.column}, freshness: col, writers: [workflow, …]}`.
    private func fullDeclaration(_ fields: Node.Mapping, _ node: Node, label: String, namespace: String, name: String,
                                 line: Int) throws(WorkflowError) -> TableDeclaration {
        guard let columnsNode = fields["columns"] else { throw fault(node, "\(label) needs \"columns\" (or write json for the short form)") }
        guard let keyNode = fields["key"] else { throw fault(node, "\(label) needs a \"key\": a column or a list of them") }
        let types = TableSchema.ColumnType.allCases.map(\.rawValue).joined(separator: ", ")
        var columns: [TableSchema.Column] = []
        let entries = try mapping(columnsNode, "\(label): columns", keys: nil)
        guard entries.count > 0 else { throw fault(columnsNode, "\(label): columns is empty") }
        for (columnKey, spec) in entries {
            let column = try string(columnKey, "\(label): a column name")
            if column.hasPrefix("_") {
                throw fault(columnKey, "\(label): column \(column): names starting with _ are the host's "
                    + "(\(TableSchema.provenanceColumns.joined(separator: ", ")))")
            }
            if let problem = TableSchema.identifierProblem(column) { throw fault(columnKey, "\(label): column \(problem)") }
            var typeNode = spec
            var required = false
            if spec.mapping != nil {
                let options = try mapping(spec, "\(label): column \(column)", keys: ["type", "required"])
                guard let type = options["type"] else { throw fault(spec, "\(label): column \(column) needs a \"type\" (\(types))") }
                typeNode = type
                if let flag = options["required"] {
                    guard flag.tag.rawValue == Tag.Name.bool.rawValue, let value = flag.bool else {
                        throw fault(flag, "\(label): column \(column): required is true or false")
                    }
                    required = value
                }
            }
            let typeName = try string(typeNode, "\(label): column \(column): type")
            guard let type = TableSchema.ColumnType(rawValue: typeName) else {
                throw fault(typeNode, "\(label): column \(column): unknown type \"\(typeName)\" (types: \(types))")
            }
            columns.append(TableSchema.Column(name: column, type: type, required: required))
        }
        func columnList(_ node: Node, _ what: String) throws(WorkflowError) -> [String] {
            let names = node.sequence != nil ? try strings(node, "\(label): \(what)") : [try string(node, "\(label): \(what)")]
            guard !names.isEmpty else { throw fault(node, "\(label): \(what) names no column") }
            for name in names where !columns.contains(where: { $0.name == name }) {
                throw fault(node, "\(label): \(what) names \(name), which is not among its columns (\(columns.map(\.name).joined(separator: ", ")))")
            }
            guard Set(names).count == names.count else { throw fault(node, "\(label): \(what) names a column twice") }
            return names
        }
        let key = try columnList(keyNode, "key")
        for index in columns.indices where key.contains(columns[index].name) { columns[index].required = true }
        var indexes: [[String]] = []
        if let node = fields["indexes"] {
            for item in try sequence(node, "\(label): indexes") { indexes.append(try columnList(item, "an index")) }
        }
        var references: [TableSchema.Reference] = []
        if let node = fields["references"] {
            for (columnKey, target) in try mapping(node, "\(label): references", keys: nil) {
                let column = try columnList(columnKey, "a reference")[0]
                let text = try string(target, "\(label): references \(column)")
                let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2 || parts.count == 3, !parts.contains(where: \.isEmpty) else {
                    throw fault(target, "\(label): references \(column) → \"\(text)\": write table.column (or namespace.table.column)")
                }
                let table = parts.count == 3 ? "\(parts[0]).\(parts[1])" : "\(namespace).\(parts[0])"
                references.append(TableSchema.Reference(column: column, table: table, targetColumn: parts.last!))
            }
        }
        var freshness: String?
        if let node = fields["freshness"] {
            let column = try columnList(node, "freshness")
            guard column.count == 1, let type = columns.first(where: { $0.name == column[0] })?.type, type == .timestamp || type == .integer else {
                throw fault(node, "\(label): freshness names one timestamp or integer column (the row's time), "
                    + "not \(column.joined(separator: ", "))")
            }
            freshness = column[0]
        }
        let writers = try fields["writers"].map { node throws(WorkflowError) in try strings(node, "\(label): writers") } ?? []
        let schema = TableSchema(namespace: namespace, name: name, columns: columns, key: key, indexes: indexes,
                                 references: references, freshness: freshness)
        return TableDeclaration(schema: schema, access: .write, writers: writers, line: line)
    }

    /// Refuses a step's `save` of a table the file does not declare writable, its `lookup`
    /// of one it does not declare, and `subjects: {table: …}` likewise.
    func checkTableUses(_ workflow: WorkflowDefinition, _ top: Node.Mapping, _ stepNodes: Node.Mapping) throws(WorkflowError) {
        let declared = workflow.tables.map { workflow.displayName(of: $0.schema) }
        let list = declared.isEmpty ? "none" : declared.joined(separator: ", ")
        if case .table(let name) = workflow.subjects, workflow.table(named: name) == nil {
            let node = top["subjects"]?.mapping?["table"] ?? top["subjects"]!
            throw fault(node, "subjects: table \(name) is not declared (declared: \(list)): declare it under tables: (as \(name): read when another workflow writes it)")
        }
        for (key, node) in stepNodes {
            guard let step = workflow.step(named: key.string ?? ""), let fields = node.mapping else { continue }
            let at = "step \(step.name) (line \(step.line))"
            if let save = step.save, let saveNode = fields["save"]?.mapping {
                let tableNode = saveNode["table"]!
                guard let declaration = workflow.table(named: save.table) else {
                    throw fault(tableNode, "\(at): save writes table \(save.table), which is not declared (declared: \(list)): declare it under tables:")
                }
                guard declaration.access == .write else {
                    throw fault(tableNode, "\(at): save writes table \(save.table), which this workflow declares read-only: "
                        + "declare it writable under tables:, with its columns")
                }
                if let keyNode = saveNode["key"], !declaration.schema.isShortForm {
                    throw fault(keyNode, "\(at): save: key is for short-form tables; \(save.table)'s key is declared "
                        + "(\(declaration.schema.key.joined(separator: ", "))), so each row carries it")
                }
                if let column = save.subject, let subjectNode = saveNode["subject"] {
                    guard !declaration.schema.isShortForm else {
                        throw fault(subjectNode, "\(at): save: subject names a column, and \(save.table) is a short-form table "
                            + "(key and data): key its rows with save: key, or declare its columns under tables:")
                    }
                    guard declaration.schema.column(named: column) != nil else {
                        throw fault(subjectNode, "\(at): save: subject names \(column), which is not a column of \(save.table) "
                            + "(\(declaration.schema.columns.map(\.name).joined(separator: ", ")))")
                    }
                }
            }
            if let lookup = step.lookup, workflow.table(named: lookup.table) == nil {
                let lookupNode = fields["lookup"]?.mapping?["table"] ?? node
                throw fault(lookupNode, "\(at): lookup reads table \(lookup.table), which is not declared (declared: \(list)): "
                    + "declare it under tables: (as \(lookup.table): read when another workflow writes it)")
            }
        }
    }
}
