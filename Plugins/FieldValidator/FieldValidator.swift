import ActorKit
import FieldRules

/// Checks a JSON record against simple rules — required fields, value types, string
/// lengths — and answers with every problem found, not just the first.
///
/// Config: `{"required": ["title"], "types": {"salary": "number"},
///           "min_length": {"title": 3}, "max_length": {"title": 200}}`
/// Input: a JSON object. Output: `{"valid": false, "errors": [{"field": "title", "problem": "missing"}]}`.
final class FieldValidator: JSONActor {
    static let info = ActorInfo(
        name: "field-validator",
        version: "1.0.0",
        kind: .validator,
        capabilities: [.threadSafe],
        description: "Validates a JSON record's fields: presence, types and string lengths.",
        configSchema: [
            "type": "object",
            "properties": FieldRules.configProperties,
        ],
        inputSchema: ["type": "object"],
        outputSchema: [
            "type": "object",
            "required": ["valid", "errors"],
            "properties": ["valid": ["type": "boolean"], "errors": ["type": "array"]],
        ],
        examples: [
            .init("complete record", config: ["required": ["title", "company"], "max_length": ["title": 20]],
                  input: ["title": "Swift engineer", "company": "Acme"],
                  output: ["valid": true, "errors": []]),
            .init("missing and too long", config: ["required": ["title", "company"], "max_length": ["title": 5]],
                  input: ["title": "Swift engineer"],
                  output: ["valid": false, "errors": [
                      ["field": "company", "problem": "missing"],
                      ["field": "title", "problem": "longer than 5 characters"],
                  ]]),
            .init("wrong type", config: ["types": ["salary": "number"]],
                  input: ["salary": "a lot"],
                  output: ["valid": false, "errors": [["field": "salary", "problem": "expected number, found string"]]]),
            .init("not an object", input: [1, 2], expectsError: true),
        ]
    )

    private let rules: FieldRules

    init(config: JSON, host: HostServices) throws(ActorError) {
        rules = try FieldRules(config: config)
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        guard input.objectValue != nil else { throw .invalidInput("input must be an object, found \(input.typeName)") }
        let errors = rules.problems(of: input)
        return ["valid": .bool(errors.isEmpty), "errors": .array(errors)]
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(FieldValidator.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
