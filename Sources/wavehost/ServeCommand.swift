import ArgumentParser
import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostService
import WavehostStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run workflows as a long-lived service, with metrics over HTTP, reloading actors whose files change.",
        discussion: """
            Every --every seconds, each workflow takes on its new subjects (from its \
            `subjects:`) and runs what is unfinished; worker processes stay warm across \
            passes. The plugin folders are watched (inotify, else polling): a changed plugin \
            or script is checked and swapped in without stopping — calls under way finish on \
            the old version; a file that fails its checks is rejected and the old version \
            keeps serving.

            At start it prints `http: listening on http://HOST:PORT`, then the /metrics and \
            dashboard addresses with the dashboard's token. GET /metrics is in the Prometheus \
            text format; every other path is the dashboard's. A port in use is an error \
            (exit 7); port 0 picks a free one.

            SIGTERM or SIGINT drains: no new interaction starts, those under way may finish \
            for --drain-timeout seconds, then they are failed as interrupted and the next \
            host retries them without using an attempt; the process exits 0. Errors of \
            background work (subjects, passes, canary ticks, reloads) are logged and listed \
            on the dashboard. Logs go to stderr: human lines on a terminal, else one JSON \
            object per line.
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

    @Option(help: ArgumentHelp("Address of the HTTP server for /metrics and the dashboard (port 0: a free port).", valueName: "host:port"))
    var http = "127.0.0.1:9464"

    @Option(help: "Seconds the calls under way may take to finish after SIGTERM or SIGINT before they are interrupted.")
    var drainTimeout: Double = 30

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel = "info"

    @Option(help: "A file holding the dashboard's token (else a random one is made and printed).")
    var tokenFile: String?

    @Flag(help: "Poll the plugin folders instead of using inotify.")
    var poll = false

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    @OptionGroup var sandbox: SandboxOptions

    func validate() throws {
        guard !pluginFolders.isEmpty else { throw ValidationError("give at least one --plugins folder to load and watch") }
        guard every > 0 else { throw ValidationError("--every must be above 0") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must be 0 or more") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1…256") }
        guard (1...256).contains(endpointConcurrency) else { throw ValidationError("--endpoint-concurrency must be 1…256") }
        guard ServiceLogging.level(named: logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel): expected one of \(ServiceLogging.levelNames.joined(separator: ", "))")
        }
        do { _ = try ServiceAddress(parsing: http) } catch { throw ValidationError(error.message) }
    }

    func run() async throws {
        ServiceLogging.bootstrap(level: ServiceLogging.level(named: logLevel) ?? .info)
        let metrics = WavehostMetrics()
        metrics.bootstrap()
        // In-process use needs trust: --trust hashes, and the store's approvals once it is open.
        let trusted = PluginTrust(trust.hashes)
        let catalog = try loadCatalog(pluginFolders, cache: cache, trusted: trusted, sandbox: sandbox)
        var parsed: [HostService.Workflow] = []
        for file in workflows {
            do {
                let parser = WorkflowParser(file: file, knownActors: catalog.names, templateFields: catalog.templateFields)
                let source = try parser.expandVariables(String(contentsOfFile: file, encoding: .utf8), ProcessInfo.processInfo.environment)
                parsed.append(HostService.Workflow(source: source, definition: try parser.parse(source)))
            } catch {
                printError("error: \(error)")
                throw ExitStatus.badInput
            }
        }
        let store: Store
        do { store = try Store(location: Store.defaultLocation(database)) } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        trusted.use(approvals: { try store.approvedHashes() })

        var configuration = WavehostServe.Configuration(workflows: parsed, pluginFolders: pluginFolders)
        configuration.poll = poll
        configuration.every = .milliseconds(Int64(every * 1000))
        configuration.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
        configuration.engine.concurrency = concurrency
        configuration.engine.endpointConcurrency = endpointConcurrency
        do {
            configuration.http = try ServiceAddress(parsing: http)
            if let tokenFile { configuration.token = try Self.readToken(tokenFile) }
            try await WavehostServe(configuration: configuration, store: store, catalog: catalog, metrics: metrics).run()
        } catch let error as ServeError {
            printError("error: \(error)")
            throw error.code == .cannotListen ? ExitStatus.cannotListen : ExitStatus.badInput
        }
        print("stopped")
    }

    /// The first line of `path`, which must not be empty.
    static func readToken(_ path: String) throws(ServeError) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ServeError(.tokenFile, "--token-file \(path): cannot read the file")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else { throw ServeError(.tokenFile, "--token-file \(path): the file holds no token") }
        return token
    }
}
