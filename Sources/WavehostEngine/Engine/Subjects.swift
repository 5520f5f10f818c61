import Foundation
import WavehostJSON
import WavehostStore

/// Reads a workflow's subjects from where its `subjects:` says.
public enum Subjects {
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `namespace` is the workflow's: a table named without one is in it.
    public static func load(_ source: WorkflowDefinition.SubjectSource, namespace: String, store: Store) throws -> [Subject] {
        switch source {
        case .single(let key):
            return [Subject(key: key, payload: [:])]
        case .table(let table):
            return try store.rows(of: try store.tableSchema(TableSchema.qualified(table, in: namespace))).map { Subject(key: $0.key, payload: $0.row) }
        case .file(let path, let key):
            return try lines(path, key: key)
        }
    }

    /// One subject per line of a JSON Lines file, keyed by each line's `key` field.
    /// Any bad line is refused with its number, before anything runs.
    public static func lines(_ path: String, key: String) throws -> [Subject] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "\(path): cannot read the subjects file")
        }
        var subjects: [Subject] = []
        var seen = Set<String>()
        for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
            let payload: JSON
            do { payload = try JSON.parse(line) } catch {
                throw LoadError(description: "\(path):\(number + 1): not JSON: \(error)")
            }
            guard let value = payload[key], let text = value.stringValue ?? (value.intValue.map(String.init)) else {
                throw LoadError(description: "\(path):\(number + 1): no \"\(key)\" field to key the subject by")
            }
            // A repeated key is the same subject; the first line wins, as the store would keep it.
            if seen.insert(text).inserted { subjects.append(Subject(key: text, payload: payload)) }
        }
        return subjects
    }
}
