import Foundation
import Synchronization
import WavehostRouting
import WavehostStore

/// `wavehost load`'s work: feeds generated subjects into a workflow — all at once, or at a
/// rate on their arrival times — runs them on one engine until every one has finished, and
/// measures throughput, latency (subject added → run finished, on the store's times) and
/// each live variant's record at the compared step with the verdict of ``PromotionPolicy``.
public struct LoadRun {
    public struct Report: Sendable {
        public var subjects = 0
        public var runsCompleted = 0
        public var runsFailed = 0
        public var interactions = 0
        public var wall: Duration = .zero
        /// Milliseconds from each subject's arrival to its run's end, ascending.
        public var latencies: [Int64] = []
        public var records: [VariantRecord] = []
        public var verdicts: [(challenger: Int64, verdict: PromotionPolicy.Verdict)] = []

        public var seconds: Double { Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18 }

        /// The nearest-rank percentile of the latencies.
        public func latency(_ percent: Int) -> Int64? { Store.nearestRank(percent, of: latencies) }
    }

    public let store: Store
    public let catalog: ActorCatalog
    public var options = Engine.Options()
    public var policy = PromotionPolicy()

    public init(store: Store, catalog: ActorCatalog) {
        self.store = store
        self.catalog = catalog
    }

    /// Runs `count` subjects of `generator` through `workflow` (its file's text `source`),
    /// at `rate` per second or as fast as possible; `step` is the one whose variants are judged.
    public func run(_ workflow: WorkflowDefinition, source: String, step: String, generator: LoadGenerator,
                    count: Int, rate: Double?) throws -> Report {
        let started = Store.now()
        let prefix = "load\(started)"
        let subjects = (0..<count).map { generator.subject($0, prefix: prefix) }
        let arrivals = generator.arrivals(count, rate: rate)
        let workflowID = try store.registerWorkflow(workflow, source: source).id
        let fed = Feeder()
        var options = options
        options.moreComing = { !fed.done }
        let engine = Engine(store: store, catalog: catalog, options: options)
        let clock = ContinuousClock()
        let begin = clock.now
        let feeder = Thread { [store] in
            defer { fed.finish() }
            var next = 0
            while next < count {
                let now = clock.now - begin
                let seconds = Double(now.components.seconds) + Double(now.components.attoseconds) / 1e18
                var due = next
                while due < count && arrivals[due] <= seconds { due += 1 }
                if due > next {
                    do { try store.addSubjects(Array(subjects[next..<due]), workflowID: workflowID) } catch {
                        fed.fail(error)
                        return
                    }
                    next = due
                }
                if next < count { Thread.sleep(forTimeInterval: max(0.001, min(0.01, arrivals[next] - seconds))) }
            }
        }
        feeder.start()
        let progress = try engine.run(workflow, source: source, subjects: [])
        if let failure = fed.failure { throw failure }
        var report = Report()
        report.wall = clock.now - begin
        report.subjects = count
        report.interactions = progress.interactionsCompleted + progress.interactionsFailed
        (report.runsCompleted, report.runsFailed, report.latencies) = try store.loadOutcome(workflowID: workflowID, subjectPrefix: prefix + "-")
        report.records = try store.variantRecords(workflow: workflow.name, step: step, since: started)
        if let champion = report.records.first(where: { $0.role == .champion }) {
            for challenger in report.records where challenger.role == .challenger {
                report.verdicts.append((challenger.variantID, policy.decide(champion: champion, challenger: challenger)))
            }
        }
        return report
    }
}

/// Whether the feeder is done, and how it failed; shared with the engine's thread.
private final class Feeder: Sendable {
    private let state = Mutex<(finished: Bool, error: (any Error)?)>((false, nil))
    var done: Bool { state.withLock { $0.finished } }
    var failure: (any Error)? { state.withLock { $0.error } }
    func finish() { state.withLock { $0.finished = true } }
    func fail(_ error: any Error) { state.withLock { $0.error = error } }
}
