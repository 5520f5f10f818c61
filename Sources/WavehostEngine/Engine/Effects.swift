import WavehostJSON
import WavehostStore

/// Reads the writes an output asks for: its own `effects` list and the step's `save`.
/// Actors never touch the database; the host applies these in the transaction that
/// records the interaction as completed.
enum Effects {
    /// Final for the interaction: the same output would be refused again.
    struct Refusal: Error {
        let reason: String
    }

    /// Effects of `output`, each checked against its table's declaration: refuses a
    /// malformed list, a table the workflow does not declare writable, and a row its
    /// table's columns refuse (the reason then starts with `effect refused:`).
    ///
    /// - Parameters:
    ///   - subject: the run's subject key.
    ///   - subjectRow: the run's subject payload. `save: {subject: column}` writes the
    ///     subject's own value of `column` when the payload has one (as `lookup: {key:}`
    ///     reads it), else `subject`; nil uses `subject` always.
    static func from(_ output: JSON, step: WorkflowDefinition.Step, subject: String, page: Int,
                     workflow: WorkflowDefinition, subjectRow: JSON? = nil) throws(Refusal) -> [Effect] {
        var effects: [Effect] = []
        if let list = output["effects"] {
            guard let items = list.arrayValue else { throw Refusal(reason: "malformed effects: \"effects\" must be a list") }
            for (position, item) in items.enumerated() {
                effects.append(try effect(item, at: position, workflow: workflow))
            }
        }
        if let save = step.save {
            effects += try saved(output, save, subject: subject, subjectRow: subjectRow, page: page, workflow: workflow)
        }
        return effects
    }

    /// One item of an actor's `effects`: `{op: insert|upsert|delete, table, row, key?}`.
    private static func effect(_ item: JSON, at position: Int, workflow: WorkflowDefinition) throws(Refusal) -> Effect {
        let at = "malformed effects[\(position)]"
        guard let name = item["table"]?.stringValue, !name.isEmpty else { throw Refusal(reason: "\(at): needs a \"table\" string") }
        let opName = item["op"]?.stringValue ?? "insert"
        guard let operation = Effect.Operation(rawValue: opName) else {
            throw Refusal(reason: "\(at): op must be insert, upsert or delete, not \(opName)")
        }
        let schema = try writable(name, workflow: workflow)
        let given = item["key"].flatMap(keyText)
        if schema.isShortForm {
            guard let key = given, !key.isEmpty else { throw Refusal(reason: "\(at): needs a \"key\" string or number") }
            if operation == .delete { return Effect(operation: .delete, table: schema, key: key, row: ["key": .string(key)]) }
            guard let row = item["row"] else { throw Refusal(reason: "\(at): needs a \"row\"") }
            return Effect(operation: operation, table: schema, key: key, row: row)
        }
        let what = "effects[\(position)] (\(operation.rawValue) into \(schema.qualifiedName))"
        var row = item["row"]
        // A delete of a one-column key may give the key alone.
        if row == nil, operation == .delete, schema.key.count == 1, let value = item["key"] {
            row = .object([(schema.key[0], value)])
        }
        guard let row else { throw Refusal(reason: "\(at): needs a \"row\" object with the columns of \(schema.qualifiedName)") }
        let (key, checked) = try check(row, schema, deleting: operation == .delete, what)
        if let given, given != key {
            throw Refusal(reason: "effect refused: \(what): key \"\(given)\" differs from the row's key \"\(key)\" "
                + "(\(schema.qualifiedName)'s key: \(schema.key.joined(separator: ", ")))")
        }
        return Effect(operation: operation, table: schema, key: key, row: checked)
    }

    /// The step's `save`: each row upserted, as ``WorkflowDefinition/Save`` says.
    private static func saved(_ output: JSON, _ save: WorkflowDefinition.Save, subject: String, subjectRow: JSON?, page: Int,
                              workflow: WorkflowDefinition) throws(Refusal) -> [Effect] {
        let schema = try writable(save.table, workflow: workflow)
        let rows = save.rows.map { output.value(at: $0) ?? .array([]) } ?? output
        // One row per subject is keyed by the subject; rows of a list by page and position.
        let single = rows.arrayValue == nil
        var effects: [Effect] = []
        for (position, row) in (rows.arrayValue ?? [rows]).enumerated() {
            if schema.isShortForm {
                let key = save.key.flatMap { row[$0].flatMap(keyText) } ?? (single ? subject : "\(subject)/p\(page)/\(position)")
                effects.append(Effect(operation: .upsert, table: schema, key: key, row: row))
                continue
            }
            var row = row
            if let column = save.subject, case .object(var members) = row {
                let value = subjectValue(column, schema: schema, subject: subject, subjectRow: subjectRow)
                members.removeAll { $0.key == column }
                members.append((column, value))
                row = .object(members)
            }
            let (key, checked) = try check(row, schema, deleting: false, "save into \(schema.qualifiedName), row \(position)")
            effects.append(Effect(operation: .upsert, table: schema, key: key, row: checked))
        }
        return effects
    }

    /// The declared, writable table `name`, or the refusal naming the writable ones.
    private static func writable(_ name: String, workflow: WorkflowDefinition) throws(Refusal) -> TableSchema {
        guard let declaration = workflow.table(named: name), declaration.access == .write else {
            let writable = workflow.writableTables
            throw Refusal(reason: "effect refused: table \(name) is not writable in workflow \(workflow.name) "
                + "(writable: \(writable.isEmpty ? "none" : writable.joined(separator: ", ")))")
        }
        return declaration.schema
    }

    /// `row` checked against `schema`; returns its key and the row as the effect carries it
    /// (for a delete, only the key's columns).
    private static func check(_ row: JSON, _ schema: TableSchema, deleting: Bool, _ what: String) throws(Refusal) -> (String, JSON) {
        do {
            guard deleting else { return (try schema.check(row), row) }
            // A delete's key is typed like a write's; the other columns do not count.
            var keyOnly = schema
            keyOnly.columns = schema.columns.filter { schema.key.contains($0.name) }
            let members = (row.objectValue ?? []).filter { schema.key.contains($0.key) }
            let projected = row.objectValue == nil ? row : JSON.object(members)
            return (try keyOnly.check(projected), projected)
        } catch {
            throw Refusal(reason: "effect refused: \(what): \(error.description)")
        }
    }

    /// The value `save: {subject: column}` writes: the subject's own `column` when its
    /// payload has one, else its key; a number when the column is numeric and it reads as one.
    private static func subjectValue(_ column: String, schema: TableSchema, subject: String, subjectRow: JSON?) -> JSON {
        if let own = subjectRow?[column], keyText(own) != nil { return own }
        switch schema.column(named: column)?.type {
        case .integer where Int64(subject) != nil, .real where Double(subject) != nil: return .number(subject)
        default: return .string(subject)
        }
    }

    private static func keyText(_ value: JSON) -> String? {
        if let text = value.stringValue { return text }
        if case .number(let literal) = value { return literal }
        return nil
    }
}
