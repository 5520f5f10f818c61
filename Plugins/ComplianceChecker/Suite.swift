import ActorKit
import SuiteRules

/// A compliance suite: storyboards of phases of steps, each step one HTTP request to the
/// agent and what its answer must be (docs/compliance.md, "The suite").
///
/// Read once, at create; every fault names the file and the JSON path at fault
/// (`storyboards[1].phases[0].steps[2].request.path: must start with "/"`).
struct Suite {
    struct Storyboard { var name: String; var phases: [Phase] }
    struct Phase { var name: String; var steps: [Step] }
    struct Step {
        var name: String
        var method: String
        var path: String
        var headers: [(name: String, value: String)]
        var body: JSON?
        var expect: Expectation
    }
    /// What an answer must be. Without `status`, any 2xx; `fields` and `schema` need a JSON body.
    struct Expectation {
        var status: Int?
        var fields: [(path: String, value: JSON)]
        var schema: SchemaSubset?
        var withinMilliseconds: Int?
        var needsJSON: Bool { !fields.isEmpty || schema != nil }
    }

    var name: String
    var storyboards: [Storyboard]

    typealias Fault = SuiteRules.Fault

    /// `{"suite": "/abs/suite.json"}` (the file is read here) or, for examples and tests,
    /// the suite itself inline: `{"suite": {"suite": NAME, "storyboards": [...]}}`.
    static func load(_ value: JSON?) throws(ActorError) -> Suite { try SuiteRules.load(value, Suite.init) }

    init(_ json: JSON) throws(Fault) {
        try Self.only(json, "", ["suite", "storyboards", "description"])
        name = try SuiteRules.name(json["suite"], "suite")
        let boards = try SuiteRules.list(json["storyboards"], "storyboards")
        var seen: Set<String> = []
        storyboards = []
        for (index, board) in boards.enumerated() {
            let at = "storyboards[\(index)]"
            try Self.only(board, at, ["name", "phases", "description"])
            let boardName = try SuiteRules.name(board["name"], at + ".name")
            guard seen.insert(boardName).inserted else { throw Fault(path: at + ".name", problem: "storyboard \"\(boardName)\" is named twice") }
            var phaseNames: Set<String> = []
            var phases: [Phase] = []
            for (phaseIndex, phase) in try SuiteRules.list(board["phases"], at + ".phases").enumerated() {
                let phaseAt = "\(at).phases[\(phaseIndex)]"
                try Self.only(phase, phaseAt, ["name", "steps", "description"])
                let phaseName = try SuiteRules.name(phase["name"], phaseAt + ".name")
                guard phaseNames.insert(phaseName).inserted else {
                    throw Fault(path: phaseAt + ".name", problem: "phase \"\(phaseName)\" of storyboard \"\(boardName)\" is named twice")
                }
                var stepNames: Set<String> = []
                var steps: [Step] = []
                for (stepIndex, step) in try SuiteRules.list(phase["steps"], phaseAt + ".steps").enumerated() {
                    let parsed = try Self.step(step, "\(phaseAt).steps[\(stepIndex)]")
                    guard stepNames.insert(parsed.name).inserted else {
                        throw Fault(path: "\(phaseAt).steps[\(stepIndex)].name", problem: "step \"\(parsed.name)\" is named twice in its phase")
                    }
                    steps.append(parsed)
                }
                phases.append(Phase(name: phaseName, steps: steps))
            }
            storyboards.append(Storyboard(name: boardName, phases: phases))
        }
    }

    private static func step(_ json: JSON, _ at: String) throws(Fault) -> Step {
        try only(json, at, ["name", "request", "expect", "description"])
        guard let stepName = json["name"]?.stringValue, !stepName.isEmpty else {
            throw Fault(path: at + ".name", problem: "must be a non-empty string")
        }
        guard let request = json["request"], request.objectValue != nil else { throw Fault(path: at + ".request", problem: "must be an object") }
        try only(request, at + ".request", ["method", "path", "headers", "body"])
        let method = request["method"]?.stringValue ?? "GET"
        guard (1...16).contains(method.count), method.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
            throw Fault(path: at + ".request.method", problem: "\"\(method)\" is not an HTTP method (GET, POST…)")
        }
        guard let path = request["path"]?.stringValue, path.hasPrefix("/") else {
            throw Fault(path: at + ".request.path", problem: "must be a string starting with \"/\" (it follows the agent's url)")
        }
        var headers: [(name: String, value: String)] = []
        if let given = request["headers"] {
            guard let members = given.objectValue else { throw Fault(path: at + ".request.headers", problem: "must be an object of strings") }
            for (name, value) in members {
                guard let text = value.stringValue else { throw Fault(path: "\(at).request.headers.\(name)", problem: "must be a string") }
                headers.append((name, text))
            }
        }
        let expect = json["expect"] ?? [:]
        guard expect.objectValue != nil else { throw Fault(path: at + ".expect", problem: "must be an object") }
        try only(expect, at + ".expect", ["status", "fields", "schema", "within_ms"])
        var expectation = Expectation(status: nil, fields: [], schema: nil, withinMilliseconds: nil)
        if let status = expect["status"] {
            guard let code = status.intValue, (100...599).contains(code) else {
                throw Fault(path: at + ".expect.status", problem: "must be an HTTP status from 100 to 599")
            }
            expectation.status = code
        }
        if let fields = expect["fields"] {
            guard let members = fields.objectValue else { throw Fault(path: at + ".expect.fields", problem: "must be an object of dotted paths to values") }
            for (path, value) in members {
                guard !path.isEmpty, !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                    throw Fault(path: at + ".expect.fields", problem: "\"\(path)\" is not a dotted path such as data.id")
                }
                expectation.fields.append((path, value))
            }
        }
        if let schema = expect["schema"] {
            do { expectation.schema = try SchemaSubset(schema) } catch {
                throw Fault(path: at + ".expect.schema" + error.path, problem: error.problem)
            }
        }
        if let within = expect["within_ms"] {
            guard let milliseconds = within.intValue, milliseconds > 0 else {
                throw Fault(path: at + ".expect.within_ms", problem: "must be a positive integer (milliseconds)")
            }
            expectation.withinMilliseconds = milliseconds
        }
        return Step(name: stepName, method: method, path: path, headers: headers, body: request["body"], expect: expectation)
    }

    /// Refuses a member the format does not know: a typo would otherwise check nothing.
    private static func only(_ value: JSON, _ at: String, _ keys: Set<String>) throws(Fault) {
        guard let members = value.objectValue else { throw Fault(path: at, problem: "must be an object") }
        if let unknown = members.first(where: { !keys.contains($0.key) }) {
            throw Fault(path: at.isEmpty ? unknown.key : "\(at).\(unknown.key)",
                        problem: "unknown member (known: \(keys.sorted().joined(separator: ", ")))")
        }
    }
}
