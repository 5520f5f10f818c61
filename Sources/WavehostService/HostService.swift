import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WavehostEngine
import WavehostRouting
import WavehostStore

/// The long-lived host: one engine per workflow, kept across passes with its worker pools,
/// routers and id block, so workers stay warm and their pids stay the same. Every `every`
/// it takes on new subjects (and, for a workflow with a heartbeat, each subject once per
/// slot of the file's `every:`), runs what is unfinished (a workflow with nothing unfinished
/// starts no engine, hence no worker) and ticks the canaries. A graceful shutdown drains
/// (see HostService+Drain.swift). Errors of a pass are reported to `issues`, never dropped.
public final class HostService: Service, Sendable {
    public struct Workflow: Sendable {
        public let source: String
        public let definition: WorkflowDefinition
        public init(source: String, definition: WorkflowDefinition) {
            self.source = source
            self.definition = definition
        }
    }

    let store: Store
    let workflows: [Workflow]
    let engines: [Engine]
    let every: Duration
    let drainTimeout: Duration
    let issues: BackgroundIssues
    let heartbeat: Heartbeat
    let listening: Listening
    let announce: @Sendable (ServiceAddress) -> Void
    let logger = Logger(label: "wavehost.service")

    /// Whether a drain began (the pass loop looks between passes), and each workflow's id once registered.
    let state: Mutex<(stopRequested: Bool, stored: [Int64?])>

    /// `announce` is told the HTTP server's address once it listens, before the first pass.
    public init(store: Store, catalog: ActorCatalog, reloader: HotReloader, workflows: [Workflow], options: Engine.Options,
                every: Duration, drainTimeout: Duration, issues: BackgroundIssues, listening: Listening,
                announce: @escaping @Sendable (ServiceAddress) -> Void) {
        self.store = store
        self.workflows = workflows
        self.every = every
        self.drainTimeout = drainTimeout
        self.issues = issues
        self.listening = listening
        self.announce = announce
        var options = options
        options.keepsCallsAcrossRuns = true
        options.reportIssue = { [issues] task, message in issues.report(task, message) }
        // One heartbeat for the service's life: the host shows alive between passes too.
        heartbeat = Heartbeat(store: store, owner: options.owner, lease: options.lease, reportIssue: options.reportIssue)
        options.heartbeat = heartbeat
        // A pass runs what it can claim and returns; the next pass looks again.
        options.waitsForOtherHosts = false
        engines = workflows.map { _ in Engine(store: store, catalog: catalog, options: options, reloader: reloader) }
        state = Mutex((false, workflows.map { _ in nil }))
    }

    public func run() async throws {
        // No pass before the server listens: a port in use stops the service before any work.
        // That failure is the server's to throw (and the CLI's to print); here it only stops us.
        guard let address = try? await listening.address() else { return }
        announce(address)
        // Trapped from the start, so that no second signal can come before it is listened for.
        let escalation = Task { [self] in await interruptOnSecondSignal() }
        defer { escalation.cancel() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    // Engines block their thread for a whole pass: never a cooperative thread.
                    let thread = Thread { [self] in
                        servePasses()
                        continuation.resume()
                    }
                    thread.name = "wavehost-passes"
                    thread.start()
                }
            } onGracefulShutdown: { [self] in
                beginDrain(deadline: .now + drainTimeout)
            }
        } onCancel: { [self] in
            beginDrain(deadline: .now)  // cancelled (another service failed): interrupt at once
        }
    }

    /// Passes until a drain; then every engine closes and its worker pools retire.
    private func servePasses() {
        heartbeat.start()
        while !isStopping {
            for index in workflows.indices where !isStopping { pass(index) }
            // Until the next pass: `every`, or sooner when another host adds runs or hands
            // leases back (LISTEN/NOTIFY); a drain is noticed within a quarter second.
            let until = ContinuousClock.now + every
            while !isStopping && ContinuousClock.now < until {
                if store.waitForWork(timeout: min(.milliseconds(250), until - ContinuousClock.now)) { break }
            }
        }
        finishDrain()
        heartbeat.stop()
    }

    var isStopping: Bool { state.withLock { $0.stopRequested } }

    /// One workflow's pass: new subjects, unfinished runs, canary ticks.
    private func pass(_ index: Int) {
        let workflow = workflows[index].definition
        var subjects: [Subject] = []
        if let source = workflow.subjects {
            do {
                subjects = try Subjects.load(source, namespace: workflow.namespace, store: store)
                // A heartbeat workflow runs each subject again in each new slot of its `every`.
                if let every = workflow.everyMilliseconds {
                    let occasion = RunOccasion.heartbeat(every: every)
                    subjects = subjects.map { $0.on(occasion) }
                }
            } catch {
                issues.report("subjects", "\(workflow.name): cannot load subjects (the pass runs what is already stored): \(error)")
            }
        }
        do {
            let workflowID = try storedID(index)
            try store.addSubjects(subjects, workflowID: workflowID)
            let counts = try store.runCounts(workflowID: workflowID)
            let unfinished = counts.total - counts.completed - counts.failed
            logger.debug("pass", metadata: ["workflow": "\(workflow.name)", "unfinished_runs": "\(unfinished)"])
            if unfinished > 0 {
                let progress = try engines[index].run(workflow, source: workflows[index].source, subjects: [])
                if progress.interactionsCompleted + progress.interactionsFailed > 0 {
                    say("\(workflow.name): \(progress.runsCompleted + progress.runsFailed)/\(progress.runsTotal) runs finished "
                        + "(\(progress.runsFailed) failed), \(progress.interactionsCompleted) interactions this pass")
                }
            }
        } catch {
            issues.report("engine", "\(workflow.name): the pass failed: \(error)")
        }
        guard !isStopping else { return }
        // Canary ramps advance (or roll back) on what this pass measured.
        for step in workflow.steps {
            do {
                for status in try Canary.tick(store: store, workflow: workflow.name, step: step.name, policy: PromotionPolicy())
                where status.changed {
                    say("canary \(workflow.name).\(step.name) variant \(status.variantID): \(status.state) at \(status.percent)%")
                }
            } catch {
                issues.report("canary", "\(workflow.name).\(step.name): the canary tick failed: \(error)")
            }
        }
    }

    /// The workflow's id in the store, registered on first use (the same text keeps its id).
    private func storedID(_ index: Int) throws -> Int64 {
        if let id = state.withLock({ $0.stored[index] }) { return id }
        let id = try store.registerWorkflow(workflows[index].definition, source: workflows[index].source).id
        state.withLock { $0.stored[index] = id }
        return id
    }
}

/// Prints a line on stdout at once (stdout is block-buffered when it is not a terminal,
/// and tests and supervisors read these lines while the service runs).
func say(_ line: String) {
    print(line)
    fflush(nil)  // all streams: `stdout` itself is a C global Swift 6 will not touch
}
