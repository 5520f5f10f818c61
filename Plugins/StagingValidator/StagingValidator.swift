import ActorKit
import FieldRules

/// Checks a staged record and, when it passes, promotes it to the target table — by
/// asking the host for an effect, never by writing itself. Refuses a record whose key
/// the target table already holds (a re-post), naming the key.
///
/// Config: the field rules (`required`, `types`, `min_length`, `max_length`) plus
/// `{"key": "external_id", "target": "postings"}`.
/// Input (as the engine composes it, with `lookup: {table: postings, key: external_id}`):
/// `{"subject": <staged record>, "lookup": <the target's row with that key, or null>}`.
/// Output: `{"valid": true, "errors": [], "key": "acme-1042",
///           "effects": [{"op": "insert", "table": "postings", "key": "acme-1042", "row": <record>}]}`
/// or `{"valid": false, "errors": [...], "key": …}` with no effects.
final class StagingValidator: JSONActor {
    static let info = ActorInfo(
        name: "staging-validator",
        version: "1.0.0",
        kind: .validator,
        capabilities: [.threadSafe],  // its effects are the host's to apply: no external effects of its own
        description: "Validates a staged record and promotes it to the target table by an effect; refuses duplicates by key.",
        configSchema: [
            "type": "object",
            "required": ["key", "target"],
            "properties": FieldRules.configProperties.merging([
                "key": ["type": "string"],
                "target": ["type": "string"],
            ]),
        ],
        inputSchema: [
            "type": "object",
            "required": ["subject"],
            "properties": ["subject": ["type": "object"], "lookup": ["type": ["object", "null"]]],
        ],
        outputSchema: [
            "type": "object",
            "required": ["valid", "errors", "key"],
            "properties": ["valid": ["type": "boolean"], "errors": ["type": "array"], "effects": ["type": "array"]],
        ],
        examples: [
            .init("valid: promoted", config: ["key": "id", "target": "postings", "required": ["title"]],
                  input: ["subject": ["id": "a-1", "title": "Nurse"], "lookup": nil],
                  output: ["valid": true, "errors": [], "key": "a-1", "effects": [
                      ["op": "insert", "table": "postings", "key": "a-1", "row": ["id": "a-1", "title": "Nurse"]],
                  ]]),
            .init("duplicate: refused", config: ["key": "id", "target": "postings"],
                  input: ["subject": ["id": "a-1", "title": "Nurse II"], "lookup": ["id": "a-1", "title": "Nurse"]],
                  output: ["valid": false, "errors": [["field": "id", "problem": "duplicate: postings already holds a-1"]], "key": "a-1"]),
            .init("no subject", config: ["key": "id", "target": "postings"], input: ["lookup": nil], expectsError: true),
        ]
    )

    private let rules: FieldRules
    private let key: String
    private let target: String

    init(config: JSON, host: HostServices) throws(ActorError) {
        rules = try FieldRules(config: config)
        guard let key = config["key"]?.stringValue, !key.isEmpty else { throw .invalidConfig("key: the field that identifies a record, e.g. \"external_id\"") }
        guard let target = config["target"]?.stringValue, !target.isEmpty else { throw .invalidConfig("target: the table valid records are promoted to") }
        self.key = key
        self.target = target
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        guard let record = input["subject"], record.objectValue != nil else {
            throw .invalidInput("input needs \"subject\": the staged record, as an object")
        }
        var errors = rules.problems(of: record)
        let id = record[key].flatMap { $0.stringValue ?? $0.intValue.map(String.init) }
        if id == nil && !errors.contains(where: { $0["field"]?.stringValue == key }) {
            errors.append(["field": .string(key), "problem": "missing"])
        }
        if let id, let existing = input["lookup"], existing != .null {
            errors.append(["field": .string(key), "problem": .string("duplicate: \(target) already holds \(id)")])
        }
        var output: JSON = ["valid": .bool(errors.isEmpty), "errors": .array(errors), "key": id.map(JSON.string) ?? .null]
        if errors.isEmpty, let id, case .object(var members) = output {
            members.append(("effects", [["op": "insert", "table": .string(target), "key": .string(id), "row": record]]))
            output = .object(members)
        }
        return output
    }
}

extension JSON {
    /// This object's members followed by `other`'s.
    fileprivate func merging(_ other: JSON) -> JSON {
        .object((objectValue ?? []) + (other.objectValue ?? []))
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(StagingValidator.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
