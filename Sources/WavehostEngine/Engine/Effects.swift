import WavehostJSON
import WavehostStore

/// Reads the writes an output asks for: its own `effects` list and the step's `save`.
/// Actors never touch the database; the host applies these in the transaction that
/// records the interaction as completed.
enum Effects {
    struct Refusal: Error {
        let reason: String
    }

    /// Effects of `output`; refuses a malformed list or a table the workflow does not
    /// declare writable.
    static func from(_ output: JSON, step: WorkflowDefinition.Step, subject: String, page: Int,
                     workflow: WorkflowDefinition) throws(Refusal) -> [Effect] {
        var effects: [Effect] = []
        if let list = output["effects"] {
            guard let items = list.arrayValue else { throw Refusal(reason: "malformed effects: \"effects\" must be a list") }
            for (position, item) in items.enumerated() {
                let at = "malformed effects[\(position)]"
                guard let table = item["table"]?.stringValue, !table.isEmpty else { throw Refusal(reason: "\(at): needs a \"table\" string") }
                guard let key = item["key"].flatMap(keyText), !key.isEmpty else { throw Refusal(reason: "\(at): needs a \"key\" string or number") }
                guard let row = item["row"] else { throw Refusal(reason: "\(at): needs a \"row\"") }
                let name = item["op"]?.stringValue ?? "insert"
                guard let operation = Effect.Operation(rawValue: name) else { throw Refusal(reason: "\(at): op must be insert or upsert, not \(name)") }
                effects.append(Effect(operation: operation, table: table, key: key, row: row.text))
            }
        }
        if let save = step.save {
            let rows = save.rows.map { output.value(at: $0) ?? .array([]) } ?? output
            // One row per subject is keyed by the subject; rows of a list by page and position.
            let single = rows.arrayValue == nil
            for (position, row) in (rows.arrayValue ?? [rows]).enumerated() {
                let key = save.key.flatMap { row[$0].flatMap(keyText) } ?? (single ? subject : "\(subject)/p\(page)/\(position)")
                effects.append(Effect(operation: .upsert, table: save.table, key: key, row: row.text))
            }
        }
        for effect in effects where !workflow.writableTables.contains(effect.table) {
            throw Refusal(reason: "effect refused: table \(effect.table) is not writable in workflow \(workflow.name) "
                + "(writable: \(workflow.writableTables.isEmpty ? "none" : workflow.writableTables.joined(separator: ", ")))")
        }
        return effects
    }

    private static func keyText(_ value: JSON) -> String? {
        if let text = value.stringValue { return text }
        if case .number(let literal) = value { return literal }
        return nil
    }
}
