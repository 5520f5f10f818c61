import Foundation
import Logging
import ServiceLifecycle
import WavehostDashboard
import WavehostEngine
import WavehostStore

/// `wavehost serve`, assembled: the HTTP server, the plugin watcher and the host, run by
/// one service group that turns SIGTERM and SIGINT into a graceful shutdown. Shutdown goes
/// in reverse order: the host drains first while the server still answers `/metrics`.
public struct WavehostServe {
    public struct Configuration: Sendable {
        public var workflows: [HostService.Workflow]
        public var pluginFolders: [String]
        public var poll = false
        public var every: Duration = .seconds(2)
        public var drainTimeout: Duration = .seconds(30)
        public var engine = Engine.Options()
        public var http = ServiceAddress(host: "127.0.0.1", port: 9464)
        /// The dashboard's token for requests that change state; a random one when nil.
        public var token: String?

        public init(workflows: [HostService.Workflow], pluginFolders: [String]) {
            self.workflows = workflows
            self.pluginFolders = pluginFolders
        }
    }

    public let configuration: Configuration
    public let store: Store
    public let catalog: ActorCatalog
    public let metrics: WavehostMetrics
    public let issues = BackgroundIssues()

    /// `metrics` should be the process's bootstrapped backend (see ``WavehostMetrics/bootstrap()``).
    public init(configuration: Configuration, store: Store, catalog: ActorCatalog, metrics: WavehostMetrics) {
        self.configuration = configuration
        self.store = store
        self.catalog = catalog
        self.metrics = metrics
    }

    /// Runs until SIGTERM or SIGINT has drained the host. Throws a ``ServeError`` when the
    /// HTTP server cannot listen (nothing has run then).
    public func run() async throws {
        let configuration = configuration
        let store = store
        let token = configuration.token ?? Self.randomToken()
        let issues = issues
        let listening = Listening()
        let dashboard = Dashboard(store: store, token: token, backgroundIssues: { issues.recent })
        let server = MetricsServer(address: configuration.http, metrics: metrics, dashboard: dashboard, listening: listening)
        let reload = ReloadService(folders: configuration.pluginFolders, poll: configuration.poll,
                                   reloader: Self.reloader(catalog: catalog, store: store, workflows: configuration.workflows, issues: issues),
                                   issues: issues)
        let watcherMode = reload.watcher.mode
        let host = HostService(
            store: store, catalog: catalog, reloader: reload.reloader, workflows: configuration.workflows, options: configuration.engine,
            every: configuration.every, drainTimeout: configuration.drainTimeout, issues: issues, listening: listening
        ) { address in
            say("http: listening on \(address.url)")
            say("metrics: \(address.url)/metrics")
            // A token the operator keeps in a file is not echoed into logs.
            say("dashboard: \(address.url)/ (token: \(configuration.token == nil ? token : "from --token-file"))")
            say("serving \(configuration.workflows.map(\.definition.name).joined(separator: ", ")) on \(store.database); "
                + "watching \(configuration.pluginFolders.joined(separator: ", ")) (\(watcherMode))")
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server), .init(service: reload), .init(service: host)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "wavehost.service")))
        do {
            try await group.run()
        } catch {
            // A port in use surfaces as the server's own error, whatever the group says.
            if let failure = listening.failure { throw failure }
            throw error
        }
        if let failure = listening.failure { throw failure }
    }

    /// Swaps versions under the engines; in production pinning, only approved hashes serve,
    /// and an error reading the approvals refuses the version (it throws): fails closed.
    static func reloader(catalog: ActorCatalog, store: Store, workflows: [HostService.Workflow], issues: BackgroundIssues) -> HotReloader {
        let production = workflows.filter { $0.definition.environment == .prod }
        let pinned = Set(production.flatMap(\.definition.approvedHashes))
        let pinning = !production.isEmpty
        return HotReloader(catalog: catalog, store: store, isApproved: { sha in
            guard pinning else { return true }
            let approved = try store.approvedHashes().union(pinned)
            return approved.isEmpty || approved.contains(sha)
        }, reportIssue: { issues.report("reload", $0) })
    }

    /// 32 hex digits from the system's generator.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt32, radix: 16).leftPadded(to: 8) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
