import ArgumentParser
import Foundation
import Host
import Synchronization

/// Set by SIGINT or SIGTERM; `serve` finishes the pass under way and stops.
private let stopRequested = Atomic<Bool>(false)

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run workflows continuously, reloading actors whose files change.",
        discussion: """
            Every --every seconds, each workflow takes on its new subjects (from its \
            `subjects:`) and runs what is unfinished. The plugin folders are watched \
            (inotify, else polling): a changed plugin or script is checked and swapped in \
            without stopping — calls under way finish on the old version; a file that fails \
            its checks is rejected and the old version keeps serving. SIGINT or SIGTERM \
            stops after the pass under way.
            """
    )

    @Argument(help: "Workflow files (YAML).")
    var workflows: [String]

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    @Option(name: .customLong("plugins"), help: "A folder of plugins (.so) and scripts, loaded and watched; repeatable.")
    var pluginFolders: [String] = []

    @Option(help: "Interactions run at once, of the steps that call no model endpoint.")
    var concurrency = 4

    @Option(help: "Calls at once to each model endpoint (a variant config's `endpoint`): the model server's parallel slots. A step's own `concurrency` overrides it.")
    var endpointConcurrency = 4

    @Option(help: "Seconds between passes.")
    var every: Double = 2

    @Flag(help: "Poll the plugin folders instead of using inotify.")
    var poll = false

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    @OptionGroup var sandbox: SandboxOptions

    func validate() throws {
        guard !pluginFolders.isEmpty else { throw ValidationError("give at least one --plugins folder to load and watch") }
        guard every > 0 else { throw ValidationError("--every must be above 0") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1…256") }
        guard (1...256).contains(endpointConcurrency) else { throw ValidationError("--endpoint-concurrency must be 1…256") }
    }

    func run() throws {
        // In-process use needs trust: --trust hashes, and the store's approvals once it is open.
        let trusted = PluginTrust(trust.hashes)
        let catalog = try loadCatalog(pluginFolders, cache: cache, trusted: trusted, sandbox: sandbox)
        var parsed: [(source: String, workflow: WorkflowDefinition)] = []
        for file in workflows {
            do {
                let parser = WorkflowParser(file: file, knownActors: catalog.names)
                let source = try parser.expandVariables(String(contentsOfFile: file, encoding: .utf8), ProcessInfo.processInfo.environment)
                parsed.append((source, try parser.parse(source)))
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
        }
        let store: Store
        do { store = try Store(location: Store.defaultLocation(database)) } catch {
            printError("error: \(error)")
            throw ExitCode(6)
        }
        // Pinning applies when any production workflow pins; approvals made while serving count.
        let pinned = Set(parsed.filter { $0.workflow.environment == .prod }.flatMap(\.workflow.approvedHashes))
        let pinning = parsed.contains { $0.workflow.environment == .prod }
        trusted.use(approvals: { try store.approvedHashes() })
        // A database error refuses the version (it throws): pinning fails closed.
        let reloader = HotReloader(catalog: catalog, store: store) { sha in
            guard pinning else { return true }
            let approved = try store.approvedHashes().union(pinned)
            return approved.isEmpty || approved.contains(sha)
        }
        let watcher = PluginWatcher(folders: pluginFolders, mode: poll ? .polling(interval: .milliseconds(500)) : .inotify) { change in
            let outcome = reloader.handle(path: change.path, removed: change.kind == .removed)
            switch outcome {
            case .swapped(let actor, let from, let to): print("reloaded \(actor): \(from.prefix(12)) → \(to.prefix(12))")
            case .rejected(let path, _, let reason): printError("rejected \(path): \(reason)")
            default: break
            }
        }
        watcher.start()
        defer { watcher.stop() }
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
        print("serving \(parsed.map(\.workflow.name).joined(separator: ", ")) on \(store.database); watching \(pluginFolders.joined(separator: ", ")) (\(watcher.mode))")

        var options = Engine.Options()
        options.concurrency = concurrency
        options.endpointConcurrency = endpointConcurrency
        while !stopRequested.load(ordering: .relaxed) {
            for (source, workflow) in parsed {
                let subjects = (try? workflow.subjects.map { try Subjects.load($0, store: store) }) ?? []
                let engine = Engine(store: store, catalog: catalog, options: options, reloader: reloader)
                do {
                    let progress = try engine.run(workflow, source: source, subjects: subjects)
                    if progress.interactionsCompleted + progress.interactionsFailed > 0 {
                        print("\(workflow.name): \(progress.runsCompleted + progress.runsFailed)/\(progress.runsTotal) runs finished "
                              + "(\(progress.runsFailed) failed), \(progress.interactionsCompleted) interactions this pass")
                    }
                } catch {
                    printError("error: \(workflow.name): \(error)")
                }
                // Canary ramps advance (or roll back) on what this pass measured.
                for step in workflow.steps {
                    for status in (try? Canary.tick(store: store, workflow: workflow.name, step: step.name, policy: PromotionPolicy())) ?? []
                    where status.changed {
                        print("canary \(workflow.name).\(step.name) variant \(status.variantID): \(status.state) at \(status.percent)%")
                    }
                }
            }
            var waited = 0.0
            while waited < every && !stopRequested.load(ordering: .relaxed) {
                usleep(100_000)
                waited += 0.1
            }
        }
        print("stopped")
    }
}
