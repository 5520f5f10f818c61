import ActorKit
import SuiteRules

/// What compliance-status needs of a suite: its name, its storyboards, their phases and
/// each phase's number of steps — the keys a check's results must have, and nothing else.
/// compliance-checker reads the whole suite (requests, expectations); this reads the same
/// file with the same rules for names and lists (SuiteRules: non-empty, no "/"; at least one
/// storyboard, phase and step; names unique), so both see the same keys; the checker alone
/// checks the steps' requests and expectations.
struct SuiteOutline {
    struct Storyboard { var name: String; var phases: [(name: String, steps: Int)] }

    var name: String
    var storyboards: [Storyboard]

    /// Every key a complete check's results hold, in suite order: `storyboard/phase`.
    var keys: [String] { storyboards.flatMap { board in board.phases.map { "\(board.name)/\($0.name)" } } }

    typealias Fault = SuiteRules.Fault

    /// `{"suite": "/abs/suite.json"}` (read here) or the suite inline.
    static func load(_ value: JSON?) throws(ActorError) -> SuiteOutline { try SuiteRules.load(value, SuiteOutline.init) }

    init(_ json: JSON) throws(Fault) {
        name = try SuiteRules.name(json["suite"], "suite")
        storyboards = []
        var seen: Set<String> = []
        for (index, board) in try SuiteRules.list(json["storyboards"], "storyboards").enumerated() {
            let at = "storyboards[\(index)]"
            let boardName = try SuiteRules.name(board["name"], at + ".name")
            guard seen.insert(boardName).inserted else { throw Fault(path: at + ".name", problem: "storyboard \"\(boardName)\" is named twice") }
            var phases: [(name: String, steps: Int)] = []
            for (phaseIndex, phase) in try SuiteRules.list(board["phases"], at + ".phases").enumerated() {
                let phaseAt = "\(at).phases[\(phaseIndex)]"
                let phaseName = try SuiteRules.name(phase["name"], phaseAt + ".name")
                guard !phases.contains(where: { $0.name == phaseName }) else {
                    throw Fault(path: phaseAt + ".name", problem: "phase \"\(phaseName)\" of storyboard \"\(boardName)\" is named twice")
                }
                phases.append((phaseName, try SuiteRules.list(phase["steps"], phaseAt + ".steps").count))
            }
            storyboards.append(Storyboard(name: boardName, phases: phases))
        }
    }
}
