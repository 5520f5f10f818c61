import ServiceLifecycle
import WavehostEngine
import WavehostPlugins

/// The plugin watcher as a service: from start to graceful shutdown, a changed plugin or
/// script goes through the hot reloader; a rejection is a background issue.
public struct ReloadService: Service {
    public let watcher: PluginWatcher
    public let reloader: HotReloader
    let issues: BackgroundIssues

    /// A watcher of `folders` that hands each change to `reloader`.
    public init(folders: [String], poll: Bool, reloader: HotReloader, issues: BackgroundIssues) {
        self.issues = issues
        self.reloader = reloader
        watcher = PluginWatcher(folders: folders, mode: poll ? .polling(interval: .milliseconds(500)) : .inotify) { change in
            switch reloader.handle(path: change.path, removed: change.kind == .removed) {
            case .swapped(let actor, let from, let to): say("reloaded \(actor): \(from.prefix(12)) → \(to.prefix(12))")
            case .rejected(let path, _, let reason): issues.report("reload", "rejected \(path); the current version keeps serving: \(reason)")
            default: break
            }
        }
    }

    public func run() async throws {
        if let reason = watcher.fallbackReason { issues.report("watcher", "cannot use inotify, polling instead: \(reason)") }
        watcher.start()
        defer { watcher.stop() }
        // Returns at graceful shutdown; throws when cancelled, which ends the watcher too.
        try? await gracefulShutdown()
    }
}
