import WavehostJSON
import Yams

/// Typed readers over YAML nodes: each refuses a wrong shape with the node's place.
extension WorkflowParser {
    func fault(_ node: Node, _ message: String) -> WorkflowError {
        WorkflowError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message)
    }

    func yamlError(_ error: any Error) -> WorkflowError {
        switch error {
        case YamlError.scanner(_, let problem, let mark, _), YamlError.parser(_, let problem, let mark, _),
             YamlError.composer(_, let problem, let mark, _):
            return WorkflowError(file: file, line: mark.line, column: mark.column, "YAML error: \(problem)")
        case YamlError.duplicatedKeysInMapping(let duplicates, let context):
            return WorkflowError(file: file, line: context.mark.line, column: context.mark.column,
                                 "duplicate keys: \(duplicates.joined(separator: ", "))")
        default:
            return WorkflowError(file: file, line: 0, column: 0, "YAML error: \(error)")
        }
    }

    /// A mapping whose keys must all be in `keys` (any keys when nil).
    func mapping(_ node: Node, _ what: String, keys: Set<String>?) throws(WorkflowError) -> Node.Mapping {
        guard let mapping = node.mapping else { throw fault(node, "\(what) must be a mapping of keys to values") }
        if let keys {
            for key in mapping.keys where !keys.contains(key.string ?? "") {
                throw fault(key, "\(what): unknown key \"\(key.string ?? "?")\" (known: \(keys.sorted().joined(separator: ", ")))")
            }
        }
        return mapping
    }

    func sequence(_ node: Node, _ what: String) throws(WorkflowError) -> [Node] {
        guard let items = node.sequence else { throw fault(node, "\(what) must be a list") }
        return Array(items)
    }

    func string(_ node: Node, _ what: String) throws(WorkflowError) -> String {
        guard case .scalar = node, let text = node.string, !text.isEmpty else { throw fault(node, "\(what) must be a non-empty string") }
        return text
    }

    func strings(_ node: Node, _ what: String) throws(WorkflowError) -> [String] {
        var items: [String] = []
        for item in try sequence(node, what) { items.append(try string(item, what)) }
        return items
    }

    func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) throws(WorkflowError) -> Int {
        guard node.tag.rawValue == Tag.Name.int.rawValue, let value = node.int, range.contains(value) else {
            throw fault(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func choice<Choice: RawRepresentable>(_ node: Node, _ what: String, _: Choice.Type) throws(WorkflowError) -> Choice
        where Choice.RawValue == String
    {
        let text = try string(node, what)
        guard let value = Choice(rawValue: text) else { throw fault(node, "\(what): \"\(text)\" is not allowed") }
        return value
    }

    /// `250ms`, `30s`, `2m`, `1h`, or a bare number of seconds; in milliseconds.
    func duration(_ node: Node, _ what: String) throws(WorkflowError) -> Int {
        let text = try string(node, what)
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        let (number, scale) = units.first { text.hasSuffix($0.0) }.map { (String(text.dropLast($0.0.count)), $0.1) } ?? (text, 1000)
        guard let value = Double(number), value > 0, value * scale <= Double(Int32.max) else {
            throw fault(node, "\(what): \"\(text)\" is not a duration (examples: 250ms, 30s, 2m)")
        }
        return Int(value * scale)
    }

    /// A YAML value as JSON (scalars keep their resolved YAML types).
    func json(_ node: Node) throws(WorkflowError) -> JSON {
        switch node {
        case .scalar:
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int: return .integer(node.int ?? 0)
            case .float:
                guard let value = node.float, value.isFinite else { throw fault(node, "a number must be finite") }
                return .double(value)
            default: return .string(node.string ?? "")
            }
        case .sequence(let items):
            var values: [JSON] = []
            for item in items { values.append(try json(item)) }
            return .array(values)
        case .mapping(let pairs):
            var members: [(key: String, value: JSON)] = []
            var merged: [(key: String, value: JSON)] = []
            for (key, value) in pairs {
                // `<<: *anchor` merges another mapping's keys; keys written here win.
                if key.string == "<<" {
                    let sources = value.sequence.map(Array.init) ?? [value]
                    for source in sources {
                        guard case .object(let more) = try json(source) else { throw fault(value, "<< merges mappings only") }
                        merged += more
                    }
                } else {
                    members.append((try string(key, "a key"), try json(value)))
                }
            }
            for member in merged where !members.contains(where: { $0.key == member.key }) { members.append(member) }
            return .object(members)
        case .alias:
            throw fault(node, "YAML aliases are not supported in workflow files")
        }
    }
}
