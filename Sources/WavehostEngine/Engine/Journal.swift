import Foundation
import Logging
import Metrics
import WavehostMetrics
import WavehostStore

/// The engine's single writer: collects interactions begun and ended, runs finished
/// and events, and writes whatever has gathered in one transaction (group commit), so
/// thousands of interactions cost one durable commit instead of thousands. Tells the
/// engine what landed only after it is durable. Each batch is fenced by this host's
/// leases: what belongs to a run another host took over is dropped, and the engine told.
final class Journal: Sendable {
    /// Called on the journal's thread after each commit with the ended interactions it
    /// held, the ones whose effects were refused, and the runs found lost to another host.
    typealias Committed = @Sendable (_ finishes: [InteractionFinish], _ refused: [Int64: String], _ lost: Set<Int64>) -> Void

    /// What the engine's threads and the writer share: the batch gathering, whether to stop,
    /// whether the writer runs, and the first commit that failed (the engine stops on it).
    private struct Shared: Sendable {
        var pending = JournalBatch(id: "")
        /// When the pending batch got its first record: its gather window runs from then.
        var pendingSince = Date.distantPast
        var stopping = false
        var running = false
        var failure: StoreError?
        var commits = 0
    }

    private let store: Store
    private let owner: String
    /// True while this host's leases cannot have lapsed (its heartbeat is on time); the
    /// commit then skips the fence. Nil: every commit is fenced.
    private let leasesCertain: (@Sendable () -> Bool)?
    private let committed: Committed
    private let shared = ConditionLocked(Shared())
    private let logger = Logger(label: "wavehost.journal")
    /// How long a batch may gather before it is committed, and the size that commits at once.
    private let gatherWindow = 0.002
    private let fullBatch = 2000
    private let reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)?
    private let commitRecords = Recorder(label: HostMetrics.journalCommitRecords)
    private let commitDuration = Metrics.Timer(label: HostMetrics.journalCommitDuration)

    /// The first commit the database refused; nothing after it is written.
    var failure: StoreError? { shared.withLock { $0.failure } }
    /// Commits so far.
    var commits: Int { shared.withLock { $0.commits } }

    init(store: Store, owner: String, leasesCertain: (@Sendable () -> Bool)? = nil,
         reportIssue: (@Sendable (String, String) -> Void)? = nil, committed: @escaping Committed) {
        self.store = store
        self.owner = owner
        self.leasesCertain = leasesCertain
        self.reportIssue = reportIssue
        self.committed = committed
    }

    func start() {
        shared.withLock { $0.running = true }
        let thread = Thread { [self] in loop() }
        thread.name = "wavehost-journal"
        thread.start()
    }

    func record(start: InteractionStart) { enqueue { $0.starts.append(start) } }
    func record(finish: InteractionFinish) { enqueue { $0.finishes.append(finish) } }
    func record(runID: Int64, failure: String?) { enqueue { $0.finishedRuns.append((runID, failure)) } }
    func record(event: EventRecord) { enqueue { $0.events.append(event) } }

    private func enqueue(_ change: (inout JournalBatch) -> Void) {
        let wake = shared.withLock { shared in
            let wasEmpty = shared.pending.isEmpty
            change(&shared.pending)
            if wasEmpty { shared.pendingSince = Date() }
            // Wake the writer for the first record of a batch and for a full one, not for each.
            return wasEmpty || shared.pending.finishes.count + shared.pending.starts.count >= fullBatch
        }
        if wake { shared.signal() }
    }

    /// Writes what is pending and stops the thread; returns once all is durable.
    func stop() {
        shared.withLock { $0.stopping = true }
        shared.broadcast()
        shared.withLock(waitingUntil: { !$0.running }) { _ in }
    }

    private func loop() {
        while true {
            let since = shared.withLock(waitingUntil: { !$0.pending.isEmpty || $0.stopping }) { $0.pendingSince }
            // Let a batch gather for a moment: one commit per interaction would cost more
            // in commits than the work itself. A full batch goes at once, and so does one
            // that gathered while the last commit ran (its window began with its first record).
            let (batch, done, failed) = shared.withLock(
                waitingUntil: { $0.stopping || $0.pending.finishes.count + $0.pending.starts.count >= fullBatch },
                deadline: since.addingTimeInterval(gatherWindow)
            ) { shared in
                let batch = shared.pending
                shared.pending = JournalBatch(id: "")
                return (batch, shared.stopping && batch.isEmpty, shared.failure != nil)
            }
            if done { break }
            if !failed && !batch.isEmpty { commit(batch) }
        }
        shared.withLock { $0.running = false }
        shared.broadcast()
    }

    private func commit(_ batch: JournalBatch) {
        var batch = batch
        batch.id = UUID().uuidString
        batch.owner = leasesCertain?() == true ? nil : owner
        do {
            let began = ContinuousClock.now
            let outcome = try store.commit(batch)
            commitDuration.record(duration: ContinuousClock.now - began)
            commitRecords.record(batch.starts.count + batch.finishes.count + batch.finishedRuns.count + batch.events.count)
            shared.withLock { $0.commits += 1 }
            committed(batch.finishes, outcome.refused, outcome.lostRuns)
        } catch {
            // The database refused the batch (not a lost connection: that is retried
            // inside the store). Nothing of it landed; the engine stops on this.
            logger.error("commit failed", metadata: ["error": "\(error)"])
            reportIssue?("journal", "commit failed; the engine stops: \(error)")
            shared.withLock { $0.failure = error }
            committed([], [:], [])
        }
    }
}
