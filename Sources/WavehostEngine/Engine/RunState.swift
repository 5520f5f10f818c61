import WavehostJSON
import WavehostStore

/// A run as the engine's queues and calls name it: immutable, so it travels between threads.
/// `key` tells apart two holdings of one run (lost to another host, then claimed again).
/// A class: queues and calls copy it often, and a copy is then one retain, not the subject's.
final class RunRef: Sendable {
    let key: UInt64
    let id: Int64
    let subject: Subject

    init(key: UInt64, id: Int64, subject: Subject) {
        self.key = key
        self.id = id
        self.subject = subject
    }
}

/// What the engine knows of one run it holds: each step's phase and output. Kept in the
/// engine's locked state (``Engine/State/runs``), found by its ``RunRef``.
struct RunState: Sendable {
    enum Phase: Sendable { case waiting, queued, running, done, skipped, failed }

    struct StepState {
        var phase = Phase.waiting
        var output: JSON?
        /// Failed attempts since the last success (of this page, for a paged step).
        var failures = 0
        /// Set when a failure may not be retried, whatever attempts are left.
        var final = false
        var lastError: String?
        /// The previous attempt or page, recorded as the next interaction's parent.
        var parent: Int64?
        /// For a paged step: pages done, and the cursor of the next page.
        var pages = 0
        var cursor: JSON?
        /// Hosts that died while running this step (each once, whatever it had under way).
        var deadHosts: Set<String> = []
        /// Why the step failed when no attempt count explains it (too many host deaths).
        var failure: String?
    }

    /// How many hosts may die running one step of a run before the run fails: a subject
    /// that kills every host it meets must not take the whole fleet down one by one.
    static let hostDeathLimit = 3

    /// Set when the lease lapsed and another host took the run over: it is no longer ours.
    var lost = false
    /// Work of it queued or under way (each queued step until its end is committed): while
    /// any is left, the engine keeps it after it ended or was lost, for that work to look at.
    var holds = 0

    let ref: RunRef
    var id: Int64 { ref.id }
    var subject: Subject { ref.subject }
    var steps: [StepState]

    init(_ ref: RunRef, stepCount: Int) {
        self.ref = ref
        steps = Array(repeating: StepState(), count: stepCount)
    }

    var isFinished: Bool { steps.allSatisfy { $0.phase == .done || $0.phase == .skipped } }

    /// Replays interactions an earlier host recorded, so the run resumes where it stopped:
    /// completed steps keep their outputs, a paged step resumes after its last good page,
    /// failed attempts count against the retry policy.
    mutating func restore(_ history: [InteractionRecord], stepIndex: [Int64: Int], workflow: WorkflowDefinition) {
        for record in history {
            guard let index = stepIndex[record.stepID] else { continue }
            let step = workflow.steps[index]
            steps[index].parent = record.id
            switch record.status {
            case .completed:
                let output = record.output.flatMap { try? JSON.parse($0) }  // checked to be JSON before it was stored
                steps[index].failures = 0
                steps[index].output = output
                if let paging = step.paging {
                    steps[index].pages += 1
                    let next = output?.value(at: paging)
                    steps[index].cursor = next
                    steps[index].phase = (next == nil || next == .null) ? .done : .waiting
                } else {
                    steps[index].phase = .done
                }
            case .failed where record.wasInterrupted:
                break  // the host stopped it, not the actor: the retry keeps this attempt's number
            case .failed where record.wasTakenBack:
                // The host died, not the actor: free, until too many hosts died on this step.
                steps[index].deadHosts.insert(record.owner ?? "host of interaction \(record.id)")
                steps[index].lastError = record.error
                if steps[index].deadHosts.count >= Self.hostDeathLimit {
                    steps[index].final = true
                    steps[index].failure = "\(steps[index].deadHosts.count) hosts died while running it "
                        + "(\(steps[index].deadHosts.sorted().joined(separator: ", "))); the subject may be what kills them"
                }
            case .failed, .timedOut:
                steps[index].failures += 1
                steps[index].lastError = record.error
            case .pending, .running:
                break
            }
        }
    }
}

extension JSON {
    /// The value at a dotted path, nil where any part is missing.
    func value(at path: [String]) -> JSON? {
        var value: JSON? = self
        for key in path { value = value?[key] }
        return value
    }
}
