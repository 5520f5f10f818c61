import ActorKit

/// Derives an agent's compliance status from one compliance-checker output, as effects the
/// host applies: its history, each storyboard's status and the agent's. The derivation
/// cannot go silent: a check whose results do not match the suite's phases one for one
/// fails the interaction, finally, naming what does not match (``CheckResults``).
///
/// Config: `{"suite": "/abs/path/suite.json"}` (the checker's suite), read at create.
/// Input:  `{"subject": {"agent": NAME, …}, "check": <compliance-checker output>,
///           "trigger": {"by": "heartbeat" | "owner_test" | "third_party", "as": NAME | null, "at": ISO, "occasion": TEXT}}`;
///         without `trigger`, a heartbeat whose occasion is the check's `started_at`.
/// Output: `{"passing": bool, "storyboards_passing": n, "storyboards": m, "check_id": "agent@occasion", "effects": [...]}`:
///         heartbeat and owner_test insert into `check_history` and upsert `storyboard_status`
///         (a row per storyboard) and `agent_status`; third_party inserts into
///         `third_party_history` only — a third party's check never changes a status.
final class ComplianceStatus: JSONActor {
    private static let exampleSuite: JSON = [
        "suite": "example",
        "storyboards": [
            ["name": "identity", "phases": [["name": "discovery", "steps": [["name": "card", "request": ["path": "/card"]]]]]],
            ["name": "catalog", "phases": [["name": "list", "steps": [["name": "items", "request": ["path": "/items"]]]]]],
        ],
    ]
    private static let exampleResults: JSON = [
        ["key": "identity/discovery", "storyboard": "identity", "phase": "discovery", "passed": 1, "total": 1, "failures": []],
        ["key": "catalog/list", "storyboard": "catalog", "phase": "list", "passed": 0, "total": 1,
         "failures": [["step": "items", "reason": "status: expected 200, got 500"]]],
    ]
    private static func exampleCheck(_ results: JSON) -> JSON {
        ["agent": "a1", "url": "http://127.0.0.1:9", "suite": "example", "started_at": "2026-12-01T10:00:00.000Z",
         "finished_at": "2026-12-01T10:00:00.040Z", "results": results]
    }
    private static let at: JSON = "2026-12-01T10:00:00.000Z"

    static let info = ActorInfo(
        name: "compliance-status",
        version: "1.0.0",
        kind: .saver,
        capabilities: [.threadSafe],  // its writes are effects, the host's to apply
        description: "Derives an agent's compliance history and status rows (effects) from a check; fails loudly when the results do not match the suite.",
        configSchema: [
            "type": "object", "required": ["suite"], "additionalProperties": false,
            "properties": ["suite": ["type": ["string", "object"]]],
        ],
        inputSchema: [
            "type": "object", "required": ["check"],
            "properties": [
                "subject": ["type": "object", "properties": ["agent": ["type": "string"]]],
                "check": ["type": "object", "required": ["started_at", "results"]],
                "trigger": ["type": "object", "required": ["by"], "properties": [
                    "by": ["enum": ["heartbeat", "owner_test", "third_party"]], "as": ["type": ["string", "null"]],
                    "at": ["type": "string"], "occasion": ["type": "string"],
                ]],
            ],
        ],
        outputSchema: [
            "type": "object", "required": ["passing", "storyboards_passing", "storyboards", "check_id", "effects"],
        ],
        examples: [
            .init("a heartbeat: history, a status row per storyboard, the agent's status", config: ["suite": exampleSuite],
                  input: ["subject": ["agent": "a1"], "check": exampleCheck(exampleResults),
                          "trigger": ["by": "heartbeat", "as": nil, "at": at, "occasion": at]],
                  output: [
                      "passing": false, "storyboards_passing": 1, "storyboards": 2, "check_id": "a1@2026-12-01T10:00:00.000Z",
                      "effects": [
                          ["op": "insert", "table": "check_history", "row": [
                              "check_id": "a1@2026-12-01T10:00:00.000Z", "agent": "a1", "triggered_by": "heartbeat", "checked_at": at,
                              "passed": 1, "total": 2, "results": exampleResults]],
                          ["op": "upsert", "table": "storyboard_status", "row": [
                              "agent": "a1", "storyboard": "identity", "phases_passed": 1, "phases": 1, "steps_passed": 1, "steps": 1,
                              "passing": true, "failures": [], "checked_at": at]],
                          ["op": "upsert", "table": "storyboard_status", "row": [
                              "agent": "a1", "storyboard": "catalog", "phases_passed": 0, "phases": 1, "steps_passed": 0, "steps": 1,
                              "passing": false, "failures": [["phase": "list", "step": "items", "reason": "status: expected 200, got 500"]],
                              "checked_at": at]],
                          ["op": "upsert", "table": "agent_status", "row": [
                              "agent": "a1", "passing": false, "storyboards_passing": 1, "storyboards": 2, "checked_at": at,
                              "check_id": "a1@2026-12-01T10:00:00.000Z"]],
                      ],
                  ]),
            .init("a result key the suite does not know fails loudly", config: ["suite": exampleSuite],
                  input: ["subject": ["agent": "a1"], "check": exampleCheck([
                      ["key": "identity/discovery", "storyboard": "identity", "phase": "discovery", "passed": 1, "total": 1, "failures": []],
                      ["key": "catalog/listing", "storyboard": "catalog", "phase": "listing", "passed": 1, "total": 1, "failures": []],
                  ])], expectsError: true),
            .init("zero results fail loudly", config: ["suite": exampleSuite],
                  input: ["subject": ["agent": "a1"], "check": exampleCheck([])], expectsError: true),
            .init("a third party's check names who asked", config: ["suite": exampleSuite],
                  input: ["subject": ["agent": "a1"], "check": exampleCheck(exampleResults), "trigger": ["by": "third_party", "at": at]],
                  expectsError: true),
        ]
    )

    private let suite: SuiteOutline

    init(config: JSON, host: HostServices) throws(ActorError) {
        guard let members = config.objectValue else { throw .invalidConfig("config must be a JSON object") }
        if let unknown = members.first(where: { $0.key != "suite" }) { throw .invalidConfig("unknown option \"\(unknown.key)\" (known: suite)") }
        suite = try SuiteOutline.load(config["suite"])
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        guard input.objectValue != nil else { throw .invalidInput("input must be a JSON object, not \(input.typeName)") }
        guard let check = input["check"] else { throw .invalidInput("input needs \"check\": the compliance-checker's output") }
        if let subject = input["subject"], subject.objectValue == nil { throw .invalidInput("subject must be an object, not \(subject.typeName)") }
        let results = try CheckResults(check: check, subjectAgent: input["subject"]?["agent"]?.stringValue, suite: suite)
        let trigger = try Trigger(input["trigger"], startedAt: results.startedAt)
        let checkID = "\(results.agent)@\(trigger.occasion)"
        let checkedAt = JSON.string(results.startedAt)
        let agent = JSON.string(results.agent)
        let phasesPassing = results.phases.filter(\.passing).count

        var boards: [JSON] = []
        var boardsPassing = 0
        for board in suite.storyboards {
            let phases = results.phases.filter { $0.storyboard == board.name }
            let passing = phases.allSatisfy(\.passing)
            if passing { boardsPassing += 1 }
            let failures = phases.flatMap { phase in
                phase.failures.map { failure -> JSON in
                    ["phase": .string(phase.phase), "step": failure["step"] ?? .null, "reason": failure["reason"] ?? .null]
                }
            }
            boards.append([
                "agent": agent, "storyboard": .string(board.name),
                "phases_passed": .integer(phases.filter(\.passing).count), "phases": .integer(phases.count),
                "steps_passed": .integer(phases.reduce(0) { $0 + $1.passed }), "steps": .integer(phases.reduce(0) { $0 + $1.total }),
                "passing": .bool(passing), "failures": .array(failures), "checked_at": checkedAt,
            ])
        }
        guard !boards.isEmpty else { throw .failed("the derivation made zero status rows for suite \"\(suite.name)\"") }
        let passing = boardsPassing == boards.count

        var effects: [JSON] = []
        if let requester = trigger.requester {
            effects.append(["op": "insert", "table": "third_party_history", "row": [
                "check_id": .string(checkID), "agent": agent, "requested_by": .string(requester), "checked_at": checkedAt,
                "passed": .integer(phasesPassing), "total": .integer(results.phases.count), "results": .array(results.raw),
            ]])
        } else {
            effects.append(["op": "insert", "table": "check_history", "row": [
                "check_id": .string(checkID), "agent": agent, "triggered_by": .string(trigger.by), "checked_at": checkedAt,
                "passed": .integer(phasesPassing), "total": .integer(results.phases.count), "results": .array(results.raw),
            ]])
            effects += boards.map { ["op": "upsert", "table": "storyboard_status", "row": $0] }
            effects.append(["op": "upsert", "table": "agent_status", "row": [
                "agent": agent, "passing": .bool(passing), "storyboards_passing": .integer(boardsPassing),
                "storyboards": .integer(boards.count), "checked_at": checkedAt, "check_id": .string(checkID),
            ]])
        }
        return [
            "passing": .bool(passing), "storyboards_passing": .integer(boardsPassing), "storyboards": .integer(boards.count),
            "check_id": .string(checkID), "effects": .array(effects),
        ]
    }
}

/// Who asked for the check and on what occasion (the engine supplies it; absent: a heartbeat).
struct Trigger {
    static let kinds = ["heartbeat", "owner_test", "third_party"]

    let by: String
    /// Who asked, for a third party's check (which then writes only its own history).
    let requester: String?
    /// What makes the check's id unique with the agent: the trigger's occasion, else its time, else the check's start.
    let occasion: String

    init(_ value: JSON?, startedAt: String) throws(ActorError) {
        guard let value, value != .null else {
            (by, requester, occasion) = ("heartbeat", nil, startedAt)
            return
        }
        guard value.objectValue != nil else { throw .invalidInput("trigger must be an object, not \(value.typeName)") }
        guard let by = value["by"]?.stringValue, Self.kinds.contains(by) else {
            throw .invalidInput("trigger.by must be one of \(Self.kinds.joined(separator: ", ")), not \(value["by"]?.text ?? "nothing")")
        }
        let name = value["as"]?.stringValue
        if by == "third_party" {
            guard let name, !name.isEmpty else {
                throw .invalidInput("a third_party trigger needs \"as\": who asked for the check (its history row's requested_by)")
            }
        }
        self.by = by
        requester = by == "third_party" ? name : nil
        occasion = value["occasion"]?.stringValue ?? value["at"]?.stringValue ?? startedAt
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(ComplianceStatus.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
