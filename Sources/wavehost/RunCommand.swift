import ArgumentParser
import Foundation
import Host

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run workflows over their subjects, durably, then show where they stand.",
        discussion: """
            Each workflow file runs in turn until every one of its runs has finished. Subjects \
            come from the file's `subjects:` (or --subjects). Runs already completed are not \
            run again; a run an earlier, killed host left half done resumes where it stopped. \
            Exit status: 0 when every run completed, 5 when some failed (the dashboard says \
            why), 2 for a bad workflow or subjects file, 3 for an actor that cannot be loaded, \
            6 when the database is unusable.
            """
    )

    @Argument(help: "Workflow files (YAML), run in the order given.")
    var workflows: [String]

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    @Option(name: .customLong("plugins"), help: "A folder of plugins (.so) and scripts to load; repeatable.")
    var pluginFolders: [String] = []

    @Option(name: .customLong("actor"), help: "One plugin or script file to load; repeatable.")
    var actorFiles: [String] = []

    @Option(help: "Interactions run at once, of the steps that call no model endpoint.")
    var concurrency = 4

    @Option(help: "Calls at once to each model endpoint (a variant config's `endpoint`): the model server's parallel slots. A step's own `concurrency` overrides it.")
    var endpointConcurrency = 4

    @Option(help: "Subjects as JSON Lines, instead of the workflow's own `subjects:` (needs --key).")
    var subjects: String?

    @Option(help: "The field of each subjects line that keys it.")
    var key: String?

    @Flag(help: "No progress bar.")
    var quiet = false

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    @OptionGroup var sandbox: SandboxOptions

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 256 else { throw ValidationError("--concurrency must be 1…256") }
        guard endpointConcurrency >= 1 && endpointConcurrency <= 256 else { throw ValidationError("--endpoint-concurrency must be 1…256") }
        guard (subjects == nil) == (key == nil) else { throw ValidationError("--subjects and --key go together") }
    }

    func run() throws {
        // In-process use needs trust: --trust hashes, and the store's approvals once it is open.
        let trusted = PluginTrust(trust.hashes)
        let catalog = try loadCatalog(pluginFolders, files: actorFiles, cache: cache, trusted: trusted, sandbox: sandbox)
        // Every file is checked before anything runs.
        var parsed: [(file: String, source: String, workflow: WorkflowDefinition)] = []
        for file in workflows {
            do {
                let parser = WorkflowParser(file: file, knownActors: catalog.names, templateFields: catalog.templateFields)
                let source = try parser.expandVariables(String(contentsOfFile: file, encoding: .utf8), ProcessInfo.processInfo.environment)
                parsed.append((file, source, try parser.parse(source)))
            } catch let error as WorkflowError {
                printError("error: \(error)")
                throw ExitCode(2)
            } catch {
                printError("error: \(file): cannot read the workflow file: \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        let store: Store
        do { store = try Store(location: Store.defaultLocation(database)) } catch {
            printError("error: \(error)")
            throw ExitCode(6)
        }
        trusted.use(approvals: { try store.approvedHashes() })
        var options = Engine.Options()
        options.concurrency = concurrency
        options.endpointConcurrency = endpointConcurrency
        var failed = 0
        for (file, source, workflow) in parsed {
            let runSubjects: [Subject]
            do {
                if let subjects, let key {
                    runSubjects = try Subjects.lines(subjects, key: key)
                } else if let source = workflow.subjects {
                    runSubjects = try Subjects.load(source, store: store)
                } else {
                    runSubjects = []
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
            let bar = ProgressBar(title: workflow.name, enabled: !quiet)
            let engine = Engine(store: store, catalog: catalog, options: options)
            do {
                let result = try engine.run(workflow, source: source, subjects: runSubjects, onProgress: bar.update)
                bar.finish(result)
                failed += result.runsFailed
            } catch let error as PluginError {
                bar.clear()
                throw fail(error)
            } catch let error as StoreError {
                bar.clear()
                printError("error: \(file): \(error)")
                throw ExitCode(6)
            }
        }
        for (_, _, workflow) in parsed {
            print("")
            do { printDashboard(try store.status(workflow: workflow.name)) } catch {
                printError("error: cannot read the dashboard: \(error)")
            }
        }
        if failed > 0 { throw ExitCode(5) }
    }
}
