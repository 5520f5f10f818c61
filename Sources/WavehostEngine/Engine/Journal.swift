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
final class Journal: @unchecked Sendable {
    /// Called on the journal's thread after each commit with the ended interactions it
    /// held, the ones whose effects were refused, and the runs found lost to another host.
    typealias Committed = @Sendable (_ finishes: [InteractionFinish], _ refused: [Int64: String], _ lost: Set<Int64>) -> Void

    private let store: Store
    private let owner: String
    /// True while this host's leases cannot have lapsed (its heartbeat is on time); the
    /// commit then skips the fence. Nil: every commit is fenced.
    private let leasesCertain: (@Sendable () -> Bool)?
    private let committed: Committed
    private let condition = NSCondition()
    private var pending = JournalBatch(id: "")
    private var stopping = false
    private var thread: Thread?
    private(set) var failure: StoreError?
    private(set) var commits = 0
    private let logger = Logger(label: "wavehost.journal")
    /// How long a batch may gather before it is committed, and the size that commits at once.
    private let gatherWindow = 0.002
    private let fullBatch = 2000
    private let reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)?
    private let commitRecords = Recorder(label: HostMetrics.journalCommitRecords)
    private let commitDuration = Metrics.Timer(label: HostMetrics.journalCommitDuration)

    init(store: Store, owner: String, leasesCertain: (@Sendable () -> Bool)? = nil,
         reportIssue: (@Sendable (String, String) -> Void)? = nil, committed: @escaping Committed) {
        self.store = store
        self.owner = owner
        self.leasesCertain = leasesCertain
        self.reportIssue = reportIssue
        self.committed = committed
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "wavehost-journal"
        self.thread = thread
        thread.start()
    }

    func record(start: InteractionStart) { enqueue { $0.starts.append(start) } }
    func record(finish: InteractionFinish) { enqueue { $0.finishes.append(finish) } }
    func record(runID: Int64, failure: String?) { enqueue { $0.finishedRuns.append((runID, failure)) } }
    func record(event: EventRecord) { enqueue { $0.events.append(event) } }

    private func enqueue(_ change: (inout JournalBatch) -> Void) {
        condition.lock()
        let wasEmpty = pending.isEmpty
        change(&pending)
        // Wake the writer for the first record of a batch and for a full one, not for each.
        if wasEmpty || pending.finishes.count + pending.starts.count >= fullBatch { condition.signal() }
        condition.unlock()
    }

    /// Writes what is pending and stops the thread; returns once all is durable.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while thread != nil { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05))
            }
            // Let a batch gather for a moment: one commit per interaction would cost more
            // in commits than the work itself. A full batch goes at once.
            let gatherUntil = Date(timeIntervalSinceNow: gatherWindow)
            while !stopping && pending.finishes.count + pending.starts.count < fullBatch && Date() < gatherUntil {
                _ = condition.wait(until: gatherUntil)
            }
            var batch = pending
            pending = JournalBatch(id: "")
            let done = stopping && batch.isEmpty
            condition.unlock()
            if done { break }
            if failure == nil && !batch.isEmpty {
                batch.id = UUID().uuidString
                batch.owner = leasesCertain?() == true ? nil : owner
                do {
                    let began = ContinuousClock.now
                    let outcome = try store.commit(batch)
                    commitDuration.record(duration: ContinuousClock.now - began)
                    commitRecords.record(batch.starts.count + batch.finishes.count + batch.finishedRuns.count + batch.events.count)
                    commits += 1
                    committed(batch.finishes, outcome.refused, outcome.lostRuns)
                } catch {
                    // The database refused the batch (not a lost connection: that is retried
                    // inside the store). Nothing of it landed; the engine stops on this.
                    logger.error("commit failed", metadata: ["error": "\(error)"])
                    reportIssue?("journal", "commit failed; the engine stops: \(error)")
                    condition.lock()
                    failure = error
                    condition.unlock()
                    committed([], [:], [])
                }
            }
        }
        condition.lock()
        thread = nil
        condition.broadcast()
        condition.unlock()
    }
}
