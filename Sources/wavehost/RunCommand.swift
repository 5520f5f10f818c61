import ArgumentParser
import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostStore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run workflows over their subjects, durably, then show where they stand.",
        discussion: """
            Each workflow file runs in turn until every one of its runs has finished. Subjects \
            come from the file's `subjects:` (or --subjects). Runs already completed are not \
            run again; a run an earlier, killed host left half done resumes where it stopped. \
            Several hosts may run the same workflows on one PostgreSQL: each claims a share \
            of the runs sized to what it can run soon, and a host with nothing left to claim \
            waits while others hold runs, taking over those whose host stops renewing its \
            leases, until every run is finished. \
            A workflow with a heartbeat (`every: 1h`) runs each subject once per slot of it; \
            --trigger owner_test, or third_party with --as NAME, runs its subjects (or those \
            --subject names) again now, a new occasion its steps see as `trigger`. \
            Exit status: 0 when every run completed (all here), 8 when every run completed \
            and other hosts finished some of them (the work was shared), 5 when some failed \
            (the dashboard says why), 2 for a bad workflow or subjects file, 3 for an actor \
            that cannot be loaded, 6 when the database is unusable.
            """
    )

    @Argument(help: "Workflow files (YAML), run in the order given.")
    var workflows: [String]

    @OptionGroup var host: HostOptions

    @Option(help: "Calls at once to each model endpoint (a variant config's `endpoint`): the model server's parallel slots. A step's own `concurrency` overrides it.")
    var endpointConcurrency = 4

    @Option(help: ArgumentHelp("Runs this host holds at once (default: what it finishes in a quarter second at its measured rate, from 4 × --concurrency up to 1,000).",
                               valueName: "runs"))
    var runsInFlight: Int?

    @Option(help: "Subjects as JSON Lines, instead of the workflow's own `subjects:` (needs --key).")
    var subjects: String?

    @Option(help: "The field of each subjects line that keys it.")
    var key: String?

    @Option(name: .customLong("subject"), help: ArgumentHelp("Runs only this subject (by its key; repeatable).", valueName: "key"))
    var onlySubjects: [String] = []

    @Option(help: ArgumentHelp("Why these runs happen, seen by their steps as `trigger`: heartbeat (the default for a workflow "
                               + "with `every:`: each subject once per slot of it), owner_test (a new run now, for the subject's owner) "
                               + "or third_party (a new run now, for --as NAME).", valueName: "trigger"))
    var trigger: RunOccasion.Trigger?

    @Option(name: .customLong("as"), help: ArgumentHelp("Who asked for a third_party run (recorded as theirs).", valueName: "name"))
    var requester: String?

    @Flag(help: "No progress bar.")
    var quiet = false

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    @OptionGroup var sandbox: SandboxOptions

    func validate() throws {
        guard endpointConcurrency >= 1 && endpointConcurrency <= 256 else { throw ValidationError("--endpoint-concurrency must be 1…256") }
        if let runsInFlight { guard runsInFlight >= 1 && runsInFlight <= 100_000 else { throw ValidationError("--runs-in-flight must be 1…100000") } }
        guard (subjects == nil) == (key == nil) else { throw ValidationError("--subjects and --key go together") }
        guard (trigger == .thirdParty) == (requester != nil) else {
            throw ValidationError("--trigger third_party and --as NAME go together: a third party's run is recorded as theirs")
        }
        if let requester { guard !requester.isEmpty, !requester.contains(":") else { throw ValidationError("--as: a name without \":\"") } }
    }

    /// The workflow's subjects, narrowed to --subject, for the occasion --trigger names
    /// (or the current heartbeat slot of a workflow with `every:`).
    private func subjectsToRun(_ all: [Subject], _ workflow: WorkflowDefinition, file: String, now: Date) throws -> [Subject] {
        var chosen = all
        if !onlySubjects.isEmpty {
            let known = Dictionary(all.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            let missing = onlySubjects.filter { known[$0] == nil }
            guard missing.isEmpty else {
                let names = all.prefix(10).map(\.key).joined(separator: ", ")
                printError("error: \(file): no subject \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) in workflow \(workflow.name)'s subjects"
                           + (all.isEmpty ? " (it has none)" : " (\(all.count): \(names)\(all.count > 10 ? ", …" : ""))"))
                throw ExitStatus.badInput
            }
            chosen = onlySubjects.map { known[$0]! }
        }
        // A heartbeat is the current slot's (run twice, it runs once); a request is new each time.
        let occasion: RunOccasion? = switch (trigger, workflow.everyMilliseconds) {
        case (nil, let every?), (.heartbeat, let every?): .heartbeat(every: every, now: now)
        case (let trigger?, _): .onDemand(trigger, as: requester, now: now)
        case (nil, nil): nil
        }
        return chosen.map { $0.on(occasion) }
    }

    func run() throws {
        // In-process use needs trust: --trust hashes, and the store's approvals once it is open.
        let trusted = PluginTrust(trust.hashes)
        let catalog = try loadCatalog(host.pluginFolders, files: host.actorFiles, cache: cache, trusted: trusted, sandbox: sandbox)
        // Every file is checked before anything runs.
        var parsed: [(file: String, source: String, workflow: WorkflowDefinition)] = []
        for file in workflows {
            do {
                let parser = WorkflowParser(file: file, knownActors: catalog.names, templateFields: catalog.templateFields)
                let source = try parser.expandVariables(String(contentsOfFile: file, encoding: .utf8), ProcessInfo.processInfo.environment)
                parsed.append((file, source, try parser.parse(source)))
            } catch let error as WorkflowError {
                printError("error: \(error)")
                throw ExitStatus.badInput
            } catch {
                printError("error: \(file): cannot read the workflow file: \(error.localizedDescription)")
                throw ExitStatus.badInput
            }
        }
        let store: Store
        do { store = try Store(location: Store.defaultLocation(host.database)) } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        trusted.use(approvals: { try store.approvedHashes() })
        // Every file's tables are checked against the store before any file runs: a second
        // writer or a retyped column in the last file stops the run before the first starts.
        for (file, _, workflow) in parsed {
            do { try store.declareTables(workflow.tables, workflow: workflow.name) } catch {
                printError("error: \(file): \(error.code == .tableRefused ? error.message : error.description)")
                throw error.code == .tableRefused ? ExitStatus.badInput : ExitStatus.storeError
            }
        }
        var options = Engine.Options()
        options.concurrency = host.concurrency
        options.endpointConcurrency = endpointConcurrency
        options.runsInFlight = runsInFlight
        var failed = 0
        var finishedElsewhere = 0
        let started = Date()  // the time of every file's occasions
        for (file, source, workflow) in parsed {
            var runSubjects: [Subject]
            do {
                if let subjects, let key {
                    runSubjects = try Subjects.lines(subjects, key: key)
                } else if let source = workflow.subjects {
                    runSubjects = try Subjects.load(source, namespace: workflow.namespace, store: store)
                } else {
                    runSubjects = []
                }
            } catch {
                printError("error: \(error)")
                throw ExitStatus.badInput
            }
            runSubjects = try subjectsToRun(runSubjects, workflow, file: file, now: started)
            let bar = ProgressBar(title: workflow.name, enabled: !quiet)
            let engine = Engine(store: store, catalog: catalog, options: options)
            do {
                let result = try engine.run(workflow, source: source, subjects: runSubjects, onProgress: bar.update)
                bar.finish(result)
                failed += result.runsFailed
                finishedElsewhere += result.runsFinishedElsewhere
            } catch let error as PluginError {
                bar.clear()
                throw fail(error)
            } catch let error as StoreError {
                bar.clear()
                printError("error: \(file): \(error)")
                throw ExitStatus.storeError
            }
        }
        for (_, _, workflow) in parsed {
            print("")
            do { printDashboard(try store.status(workflow: workflow.name)) } catch {
                printError("error: cannot read the dashboard: \(error)")
            }
        }
        if failed > 0 { throw ExitStatus.runsFailed }
        if finishedElsewhere > 0 {
            printError("note: other hosts finished \(finishedElsewhere) of the runs (exit status 8: every run completed, the work was shared)")
            throw ExitStatus.finishedElsewhere
        }
    }
}

extension RunOccasion.Trigger: ExpressibleByArgument {}
