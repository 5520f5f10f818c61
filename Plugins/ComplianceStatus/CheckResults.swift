import ActorKit

/// A compliance-checker output, read against the suite it must come from. Everything that
/// would make the derived status wrong or empty is a loud, final failure naming what is at
/// fault: a result whose key matches no phase of the suite (the keys changed), a phase of
/// the suite with no result, a key that disagrees with its storyboard and phase, a phase
/// counted twice, a step count that is not the suite's, no results at all. A status that
/// silently stops being written is the failure this exists to prevent.
struct CheckResults {
    struct Phase {
        var storyboard: String
        var phase: String
        var passed: Int
        var total: Int
        var failures: [JSON]
        var passing: Bool { passed == total }
    }

    let agent: String
    let startedAt: String
    /// The check's results as it gave them (stored as they came, in check_history).
    let raw: [JSON]
    /// Suite order.
    let phases: [Phase]

    init(check: JSON, subjectAgent: String?, suite: SuiteOutline) throws(ActorError) {
        guard check.objectValue != nil else { throw .invalidInput("check must be a compliance-checker output (an object), not \(check.typeName)") }
        let checkAgent = check["agent"]?.stringValue
        guard let agent = subjectAgent ?? checkAgent else {
            throw .invalidInput("no agent: give subject.agent (or the check's agent)")
        }
        if let subjectAgent, let checkAgent, subjectAgent != checkAgent {
            throw .failed("the subject is agent \(subjectAgent) but the check is of agent \(checkAgent): no status is derived from another agent's check")
        }
        guard let startedAt = check["started_at"]?.stringValue, !startedAt.isEmpty else {
            throw .failed("the check has no started_at (the time its status rows are fresh as of): no status is derived")
        }
        if let name = check["suite"]?.stringValue, name != suite.name {
            throw .failed("the check ran suite \"\(name)\", but this status derives from suite \"\(suite.name)\": no status is derived")
        }
        guard let results = check["results"]?.arrayValue else {
            throw .failed("the check has no results list: no status is derived (expected one result for each of \(suite.keys.count) phases)")
        }
        guard !results.isEmpty else {
            throw .failed("the check has zero results: no status is derived; the suite \"\(suite.name)\" has \(suite.keys.count) phases: "
                + suite.keys.joined(separator: ", "))
        }
        var byKey: [String: Phase] = [:]
        var unknown: [String] = []
        let known = Set(suite.keys)
        for (index, result) in results.enumerated() {
            let read = try Self.phase(result, index)
            let key = "\(read.storyboard)/\(read.phase)"
            guard known.contains(key) else {
                unknown.append(key)
                continue
            }
            guard byKey[key] == nil else { throw .failed("results[\(index)]: phase \(key) has a result already: each phase is counted once") }
            byKey[key] = read
        }
        if !unknown.isEmpty {
            throw .failed("\(unknown.count) result key(s) match no phase of suite \"\(suite.name)\": \(unknown.joined(separator: ", ")); "
                + "its phases: \(suite.keys.joined(separator: ", ")). No status is derived (a checker and suite that disagree on keys)")
        }
        var phases: [Phase] = []
        var missing: [String] = []
        for board in suite.storyboards {
            for (name, steps) in board.phases {
                let key = "\(board.name)/\(name)"
                guard let phase = byKey[key] else {
                    missing.append(key)
                    continue
                }
                guard phase.total == steps else {
                    throw .failed("result \(key) counts \(phase.total) steps, but the suite's phase has \(steps): "
                        + "the check ran another version of suite \"\(suite.name)\"; no status is derived")
                }
                phases.append(phase)
            }
        }
        if !missing.isEmpty {
            throw .failed("\(missing.count) phase(s) of suite \"\(suite.name)\" have no result: \(missing.joined(separator: ", ")); "
                + "no status is derived from a partial check")
        }
        self.agent = agent
        self.startedAt = startedAt
        self.raw = results
        self.phases = phases
    }

    /// One result, its fields checked against each other: a key is `storyboard/phase`.
    private static func phase(_ result: JSON, _ index: Int) throws(ActorError) -> Phase {
        let at = "results[\(index)]"
        guard result.objectValue != nil else { throw .failed("\(at) is not an object: \(result.text)") }
        guard let key = result["key"]?.stringValue, let storyboard = result["storyboard"]?.stringValue,
              let phase = result["phase"]?.stringValue
        else { throw .failed("\(at) lacks a string key, storyboard or phase: \(result.text)") }
        guard key == "\(storyboard)/\(phase)" else {
            throw .failed("\(at): key \"\(key)\" disagrees with its storyboard \"\(storyboard)\" and phase \"\(phase)\" "
                + "(the key is \"\(storyboard)/\(phase)\"): no status is derived")
        }
        guard let passed = result["passed"]?.intValue, let total = result["total"]?.intValue, total > 0, (0...total).contains(passed) else {
            throw .failed("\(at) (\(key)): passed and total must be integers with 0 ≤ passed ≤ total and total > 0: \(result.text)")
        }
        guard let failures = result["failures"]?.arrayValue, failures.count == total - passed else {
            throw .failed("\(at) (\(key)): failures must list one entry per failed step (\(total - passed)): \(result.text)")
        }
        return Phase(storyboard: storyboard, phase: phase, passed: passed, total: total, failures: failures)
    }
}
