import ActorKit

/// What compliance-status needs of a suite: its name, its storyboards, their phases and
/// each phase's number of steps — the keys a check's results must have, and nothing else.
/// compliance-checker reads the whole suite (requests, expectations); this reads the same
/// file with the same rules for names and lists (non-empty, unique, no "/"; at least one
/// storyboard, phase and step), so both see the same keys; the checker alone checks the
/// steps' requests and expectations. (Each plugin is one product of its own: they share no code.)
struct SuiteOutline {
    struct Storyboard { var name: String; var phases: [(name: String, steps: Int)] }

    var name: String
    var storyboards: [Storyboard]

    /// Every key a complete check's results hold, in suite order: `storyboard/phase`.
    var keys: [String] { storyboards.flatMap { board in board.phases.map { "\(board.name)/\($0.name)" } } }

    /// `{"suite": "/abs/suite.json"}` (read here) or the suite inline.
    static func load(_ value: JSON?) throws(ActorError) -> SuiteOutline {
        switch value {
        case .string(let path)?:
            guard path.hasPrefix("/") else { throw .invalidConfig("suite: \"\(path)\" must be an absolute path to the suite's JSON file") }
            let bytes = try readFile(path)
            let json: JSON
            do { json = try JSON.parse(bytes) } catch { throw .invalidConfig("suite \(path) is not JSON: \(error)") }
            do { return try SuiteOutline(json) } catch { throw .invalidConfig("suite \(path): \(error.message)") }
        case .object?:
            do { return try SuiteOutline(value!) } catch { throw .invalidConfig("suite (inline): \(error.message)") }
        default:
            throw .invalidConfig("\"suite\" is required: the absolute path of the suite's JSON file (docs/compliance.md, \"The suite\")")
        }
    }

    struct Fault: Error {
        let path: String
        let problem: String
        var message: String { "\(path): \(problem)" }
    }

    init(_ json: JSON) throws(Fault) {
        name = try Self.name(json["suite"], "suite")
        storyboards = []
        var seen: Set<String> = []
        for (index, board) in try Self.list(json["storyboards"], "storyboards").enumerated() {
            let at = "storyboards[\(index)]"
            let boardName = try Self.name(board["name"], at + ".name")
            guard seen.insert(boardName).inserted else { throw Fault(path: at + ".name", problem: "storyboard \"\(boardName)\" is named twice") }
            var phases: [(name: String, steps: Int)] = []
            for (phaseIndex, phase) in try Self.list(board["phases"], at + ".phases").enumerated() {
                let phaseAt = "\(at).phases[\(phaseIndex)]"
                let phaseName = try Self.name(phase["name"], phaseAt + ".name")
                guard !phases.contains(where: { $0.name == phaseName }) else {
                    throw Fault(path: phaseAt + ".name", problem: "phase \"\(phaseName)\" of storyboard \"\(boardName)\" is named twice")
                }
                phases.append((phaseName, try Self.list(phase["steps"], phaseAt + ".steps").count))
            }
            storyboards.append(Storyboard(name: boardName, phases: phases))
        }
    }

    private static func name(_ value: JSON?, _ at: String) throws(Fault) -> String {
        guard let text = value?.stringValue, !text.isEmpty else { throw Fault(path: at, problem: "must be a non-empty string") }
        guard !text.contains("/") else { throw Fault(path: at, problem: "\"\(text)\" holds a \"/\", which separates storyboard from phase in a result's key") }
        return text
    }

    private static func list(_ value: JSON?, _ at: String) throws(Fault) -> [JSON] {
        guard let items = value?.arrayValue else { throw Fault(path: at, problem: "must be a list") }
        guard !items.isEmpty else { throw Fault(path: at, problem: "is empty") }
        return items
    }

    private static func readFile(_ path: String) throws(ActorError) -> [UInt8] {
        do {
            return try ActorFile.contents(of: path, limit: 16 << 20)
        } catch {
            switch error {
            case .cannotOpen(let reason): throw .invalidConfig("suite \(path): \(reason) (a sandboxed variant needs read: [\"\(path)\"])")
            case .cannotRead(let reason): throw .invalidConfig("suite \(path): \(reason)")
            case .tooLarge: throw .invalidConfig("suite \(path) is larger than 16 MiB")
            }
        }
    }
}
