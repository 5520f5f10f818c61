import ActorRuntime
import Foundation
import Logging
import Metrics
import WavehostJSON
import WavehostRouting
import WavehostStore

/// Runs a workflow over its subjects, durably: claims runs from the store, runs each
/// ready step on a bounded set of worker threads, and records every interaction through
/// the journal's group commits. A step's dependents start only once its result is
/// durable, so a killed host loses nothing completed and repeats nothing applied.
///
/// Its scheduling state, shared by the run loop, the worker threads, the watchdog and the
/// journal's callback, is one ``State`` in `state`, which the threads also wait on.
public final class Engine: Sendable {
    public struct Options: Sendable {
        /// Calls at once of the steps that call no model endpoint (worker threads).
        public var concurrency = 4
        /// Calls at once to each model endpoint (a variant's `config.endpoint`): the server's
        /// parallel slots (`tools/llm start` gives 4). A step's own `concurrency` overrides it.
        public var endpointConcurrency = 4
        /// Runs held at once; more are claimed as these finish. Nil: sized to what this host
        /// can run soon (``ClaimSizer``: a quarter second's worth at its measured rate, from
        /// 4 × `concurrency` up to 1,000), so several hosts share a workflow instead of one
        /// taking it all.
        public var runsInFlight: Int?
        /// How long a claimed run stays this host's without renewal, on the database's clock.
        /// Short, and renewed by the heartbeat every quarter of it: a dead host's runs are
        /// taken over within about one lease.
        public var lease: Duration = .seconds(3)
        /// The host's heartbeat, when it outlives one `run` (a service's engines share it);
        /// nil: each `run` beats for itself.
        public var heartbeat: Heartbeat?
        /// When nothing is left to claim but other hosts hold unfinished runs: wait (woken
        /// by LISTEN/NOTIFY, or when their first lease lapses) until every run is finished,
        /// taking over any whose host stops renewing. Off, `run` returns at once (`serve`
        /// looks again on its next pass).
        public var waitsForOtherHosts = true
        /// While this says more runs are coming (`wavehost load`'s feeder), an idle `run`
        /// waits for them instead of returning.
        public var moreComing: (@Sendable () -> Bool)?
        /// This host, as written on leases: `hostname:pid:random`.
        public var owner = Engine.makeOwner()
        /// Outputs larger than this fail (sandboxed actors are also cut off by their limits).
        public var maxOutputBytes = 16 << 20
        /// How long past its deadline a sandboxed call may take before the watchdog fails it.
        public var grace: Duration = .seconds(2)
        /// Keep the calls (their warm worker pools), routers and id block when `run` returns,
        /// for the next `run` of the same workflow: `serve`'s passes. `close()` retires them.
        /// Off, each `run` retires what it made, as `wavehost run` wants.
        public var keepsCallsAcrossRuns = false
        /// Told of each error a background part of the engine carries on after (a variant
        /// refresh, a lease renewal), with the task's name: the service lists them.
        public var reportIssue: (@Sendable (_ task: String, _ message: String) -> Void)?
        public init() {}
    }

    public struct Progress: Sendable {
        public var runsTotal = 0
        public var runsCompleted = 0
        public var runsFailed = 0
        public var interactionsCompleted = 0
        public var interactionsFailed = 0
        public var elapsed: Duration = .zero
        /// Runs other hosts finished while this `run` went on: the work was shared.
        public var runsFinishedElsewhere = 0
        /// Runs this host held until its lease lapsed and another host took them over.
        public var runsLost = 0
    }

    let store: Store
    let catalog: ActorCatalog
    let options: Options
    let logger = Logger(label: "wavehost.engine")

    /// Everything that changes while the engine runs (see ``State``).
    let state = ConditionLocked(State())

    /// Swaps actor versions under the running engine when their files change.
    let reloader: HotReloader?

    public init(store: Store, catalog: ActorCatalog, options: Options = Options(), reloader: HotReloader? = nil) {
        self.store = store
        self.catalog = catalog
        self.options = options
        self.reloader = reloader
    }

    /// Runs `workflow` (the text of its file is `source`) until every run this host can
    /// claim is finished. `subjects` are added first (existing ones are kept as they are).
    public func run(_ workflow: WorkflowDefinition, source: String, subjects: [Subject],
                    onProgress: ((Progress) -> Void)? = nil) throws -> Progress {
        let clock = ContinuousClock()
        let started = clock.now
        let (draining, preparedSource) = state.withLock { ($0.draining, $0.preparedSource) }
        if draining { return Progress() }
        if preparedSource != source {
            if preparedSource != nil { retireCalls() }
            try prepare(workflow, source: source)
            state.withLock { $0.preparedSource = source }
        } else {
            // A kept engine: what changed between runs (a canary's new weights) applies now,
            // not a second into the run, which a short pass may never reach.
            try refreshVariants()
        }
        let plan = state.withLock { $0.plan! }
        let workflowID = plan.stored.id
        try store.addSubjects(subjects, workflowID: workflowID)
        let counts = try store.runCounts(workflowID: workflowID)
        let finishedBefore = counts.completed + counts.failed
        let finishedHereBefore = try store.runsFinished(workflowID: workflowID, by: options.owner)
        // A service's heartbeat outlives this run; else the run beats for itself.
        let heartbeat = options.heartbeat ?? Heartbeat(store: store, owner: options.owner, lease: options.lease,
                                                       reportIssue: options.reportIssue)
        heartbeat.hold(workflowID: workflowID)
        if options.heartbeat == nil { heartbeat.start() }
        // Weak: the engine holds the journal; a strong capture would keep both alive forever.
        // SQLite serves one host: its commits skip the lease fence while the heartbeat is on
        // time. PostgreSQL, shared by hosts, fences every commit (the check and the write are
        // one transaction, so even a host frozen between them cannot land a lost run's work).
        let certain: (@Sendable () -> Bool)? = store.backend == .sqlite ? { @Sendable [heartbeat] in heartbeat.leasesCertain } : nil
        let journal = Journal(store: store, owner: options.owner, leasesCertain: certain,
                              reportIssue: options.reportIssue) { [weak self] finishes, refused, lost in
            self?.committed(finishes, refused, lost)
        }
        let context = Context(plan: plan, journal: journal)
        let generation = beginRun(journal, counts: counts)
        journal.start()
        state.withLock { s in
            for (index, lane) in plan.lanes.enumerated() {
                for _ in 0..<lane.threads { startWorker(lane: index, generation: generation, context, &s) }
            }
        }
        let watchdog = Thread { [self] in watch(generation: generation, context) }
        watchdog.start()
        let gauges = RunGauges(workflow: workflow.name)
        defer {
            let drained = state.withLock { s in
                s.stopping = true
                state.broadcast()
                return s.draining
            }
            journal.stop()
            if drained {
                releaseLeases(workflowID: workflowID)
                state.withLock { $0.active = [:] }  // no longer this host's runs
            } else {
                // Hosts waiting for this one's runs look again; without the notice they find them at their next poll.
                do { try store.notifyWork() } catch {
                    logger.notice("cannot notify other hosts of the runs handed back", metadata: ["error": "\(error)"])
                }
            }
            if options.heartbeat == nil { heartbeat.stop() }
            state.withLock { gauges.record($0) }
            // Without keepsCallsAcrossRuns the calls are this run's: their workers end with it
            // (a call still under way retires its version when it ends).
            if !options.keepsCallsAcrossRuns { close() }
        }
        var lastReport = clock.now
        var lastRefresh = clock.now
        var drained = false
        var sizer = ClaimSizer(minimum: 4 * options.concurrency, maximum: options.runsInFlight ?? 1000, fixed: options.runsInFlight != nil)
        var nextClaim = clock.now
        while true {
            let look = state.withLock(looping: { (s: inout State) -> LockTurn<Look> in
                if let failure = journal.failure { return .done(.failed(failure)) }
                gauges.record(s)
                if s.draining {
                    // Nothing starts; leave once what was under way has ended (its commit lands
                    // in `journal.stop`), or fail it as interrupted at the deadline.
                    if s.inFlight.isEmpty { return .done(.leave) }
                    if ContinuousClock.now >= s.drainDeadline { interruptInFlight(&s); return .done(.leave) }
                    return .wait(until: Date(timeIntervalSinceNow: 0.05))
                }
                let target = sizer.target(at: clock.now, finished: s.progress.runsCompleted + s.progress.runsFailed)
                return .done(.claim(room: target - s.active.count, target: target, idle: s.active.isEmpty && s.inFlight.isEmpty))
            })
            guard case .claim(let room, let target, let idle) = look else {
                if case .failed(let failure) = look { throw failure }
                break
            }
            // A quarter of the target free is enough to claim: a busy host still takes over
            // a dead one's runs soon after they lapse, not only once half its runs are done.
            if (room >= max(1, target / 4) || idle) && clock.now >= nextClaim {
                let claimed = try store.claimRuns(workflowID: workflowID, owner: options.owner, limit: room, lease: options.lease,
                                                  isDead: Engine.isDead)
                // Nothing free: look again in a moment, not at every commit.
                nextClaim = claimed.isEmpty ? clock.now + .milliseconds(50) : clock.now
                if claimed.isEmpty && idle {
                    if drained {
                        guard options.waitsForOtherHosts else { break }
                        let others = try store.othersLeases(workflowID: workflowID, owner: options.owner)
                        let coming = options.moreComing?() ?? false
                        if others.runs == 0 && !coming { break }
                        // Others hold the rest: wait to be told, or until the first of their
                        // leases lapses (then take it over), or a second (the slow poll).
                        let wait = coming ? .milliseconds(20) : min(.seconds(1), (others.firstLapse ?? .seconds(1)) + .milliseconds(20))
                        _ = store.waitForWork(timeout: wait)
                        nextClaim = clock.now
                        continue
                    }
                    drained = true  // one more look once every commit has landed
                }
                if !claimed.isEmpty { drained = false }
                adopt(claimed, plan)
            }
            if clock.now - lastRefresh >= .seconds(1) {
                lastRefresh = clock.now
                do { try refreshVariants() } catch {
                    logger.warning("cannot read variant changes", metadata: ["error": "\(error)"])
                    options.reportIssue?("engine", "\(workflow.name): cannot read variant changes: \(error)")
                }
            }
            var waited = false
            let snapshot = state.withLock(looping: { (s: inout State) -> LockTurn<Progress> in
                guard waited else {
                    waited = true
                    return .wait(until: Date(timeIntervalSinceNow: 0.1))
                }
                s.progress.elapsed = clock.now - started
                return .done(s.progress)
            })
            if let onProgress, clock.now - lastReport >= .milliseconds(200) {
                onProgress(snapshot)
                lastReport = clock.now
            }
        }
        let finishedHere = try store.runsFinished(workflowID: workflowID, by: options.owner)
        let countsAfter = try store.runCounts(workflowID: workflowID)
        let final = state.withLock { s in
            s.progress.elapsed = clock.now - started
            s.progress.runsFinishedElsewhere = max(0, countsAfter.completed + countsAfter.failed - finishedBefore - (finishedHere - finishedHereBefore))
            (s.progress.runsTotal, s.progress.runsCompleted, s.progress.runsFailed) = (countsAfter.total, countsAfter.completed, countsAfter.failed)
            return s.progress
        }
        onProgress?(final)
        return final
    }

    /// What the run loop found under the lock.
    private enum Look {
        case failed(StoreError)
        case leave
        case claim(room: Int, target: Int, idle: Bool)
    }

    /// Resets what one `run` holds (calls, routers and the id block stay). Returns its generation.
    private func beginRun(_ journal: Journal, counts: (total: Int, completed: Int, failed: Int)) -> Int {
        state.withLock { s in
            s.generation += 1
            s.stopping = false
            s.progress = Progress()
            (s.progress.runsTotal, s.progress.runsCompleted, s.progress.runsFailed) = (counts.total, counts.completed, counts.failed)
            s.journal = journal
            s.active = [:]
            s.runs = [:]
            s.ready = Array(repeating: [], count: s.workflow.steps.count)
            s.delayed = []
            s.inFlight = [:]
            s.awaitingCommit = [:]
            s.idleThreads = Array(repeating: 0, count: s.plan.lanes.count)
            return s.generation
        }
    }

    /// Retires every call made so far (their workers exit; a call under way retires its
    /// version when it ends) and forgets the variants, so a later `run` makes them again.
    func retireCalls() {
        let made = state.withLock { s in
            defer { s.callCache = [:]; s.knownVariants = [] }
            return Array(s.callCache.values)
        }
        reloader?.untrack(made.compactMap { $0 as? ReloadableCall })
        for call in made { call.retire() }
    }

    /// Ends an engine kept across runs (`keepsCallsAcrossRuns`): its worker pools retire.
    public func close() {
        retireCalls()
        state.withLock { $0.preparedSource = nil }
    }

    /// Records the workflow and its actors' versions; makes every variant callable, so a
    /// missing actor or a config its actor refuses stops the run before anything starts.
    private func prepare(_ workflow: WorkflowDefinition, source: String) throws {
        let stored = try store.registerWorkflow(workflow, source: source)
        let actors = Set(workflow.steps.flatMap { $0.variants.map(\.actor) })
        if let approved = try Engine.approvedHashes(for: workflow, store: store) {
            for version in catalog.versions(of: actors) where !approved.contains(version.sha256) {
                throw PluginError(.notApproved, path: version.path, "actor \(version.name) (sha256 \(version.sha256)) is not approved "
                    + "for production workflow \(workflow.name): approve it with `wavehost plugins approve \(version.sha256)` or list it in approved_hashes")
            }
        }
        for version in catalog.versions(of: actors) {
            try store.registerActorVersion(name: version.name, kind: version.kind, sha256: version.sha256,
                                           version: version.version, path: version.path)
        }
        let plan = Plan(workflow: workflow, stored: stored, stepIDs: workflow.steps.map { stored.stepIDs[$0.name] ?? 0 },
                        lanes: Lane.plan(workflow, hostThreads: options.concurrency, endpointThreads: options.endpointConcurrency),
                        models: workflow.steps.map(Lane.model(of:)), ancestry: workflow.steps.indices.map(workflow.ancestors(of:)))
        state.withLock { s in
            s.plan = plan
            s.idleThreads = Array(repeating: 0, count: plan.lanes.count)
        }
        try refreshVariants(initial: true)
        state.withLock { $0.ready = Array(repeating: [], count: workflow.steps.count) }
    }

    /// Takes on claimed runs: replays their history and queues their ready steps.
    private func adopt(_ claimed: [ClaimedRun], _ plan: Plan) {
        guard !claimed.isEmpty else { return }
        var stepIndex: [Int64: Int] = [:]
        for (index, id) in plan.stepIDs.enumerated() { stepIndex[id] = index }
        state.withLock { s in
            for claim in claimed where s.active[claim.id] == nil {
                let run = s.adopt(id: claim.id, subject: claim.subject)
                s.runs[run.key]!.restore(claim.history, stepIndex: stepIndex, workflow: plan.workflow)
                schedule(run, &s)
            }
            state.broadcast()
        }
    }

    /// The hashes a production workflow may run, when it pins its actors (its own
    /// `approved_hashes` or any approval in the store); nil when it does not pin.
    public static func approvedHashes(for workflow: WorkflowDefinition, store: Store) throws(StoreError) -> Set<String>? {
        guard workflow.environment == .prod else { return nil }
        let approved = Set(workflow.approvedHashes).union(try store.approvedHashes())
        return approved.isEmpty ? nil : approved
    }

    /// `hostname:pid:random`, so a restarted host on the same machine can tell its dead
    /// predecessor's leases from a live neighbour's.
    public static func makeOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    /// True for an owner on this machine whose process is gone.
    static func isDead(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count == 3, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]) else { return false }
        if pid == getpid() { return true }  // an earlier host that had this pid
        return kill(pid, 0) == -1 && errno == ESRCH
    }
}
