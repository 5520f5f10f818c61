import ActorRuntime
import Foundation
import Logging
import Metrics
import Synchronization
import WavehostJSON
import WavehostMetrics
import WavehostPlugins
import WavehostSandbox
import WavehostStore

/// Swaps an actor's version under a running engine when its file changes: loads the new
/// file beside the old (each hash has its own cached copy), checks it — ABI, descriptor,
/// create with every tracked variant's config, the plugin's own examples — and only then
/// makes it current for every variant at once. Calls under way finish on the old version.
/// A file that fails any check is rejected and the old version keeps serving.
public final class HotReloader: Sendable {
    public enum Outcome: Sendable, Equatable {
        case swapped(actor: String, from: String, to: String)
        case rejected(path: String, sha256: String?, reason: String)
        /// Same content as the version serving (a touch, or a rewrite of the same bytes).
        case unchanged(path: String)
        /// Not a file any tracked actor was loaded from.
        case ignored(path: String)
        /// The file went away; the version in memory keeps serving until a new one comes.
        case removed(path: String)
    }

    private struct Tracked {
        let call: ReloadableCall
        let variant: WorkflowDefinition.Variant
        let concurrency: Int
    }

    public let catalog: ActorCatalog
    private let store: Store?
    private let isApproved: @Sendable (String) throws -> Bool
    /// Held for a whole reload: one at a time.
    private let reloading = Mutex(())
    private let tracked = Mutex<[Tracked]>([])
    private let logger = Logger(label: "wavehost.reload")
    private let reportIssue: @Sendable (_ message: String) -> Void

    /// `isApproved` says whether a hash may serve (production pinning); every hash by default.
    /// When it throws, the version is rejected. `reportIssue` hears of each store error
    /// while recording an outcome (the outcome itself is returned by `handle`).
    public init(catalog: ActorCatalog, store: Store?, isApproved: @escaping @Sendable (String) throws -> Bool = { _ in true },
                reportIssue: @escaping @Sendable (String) -> Void = { _ in }) {
        self.catalog = catalog
        self.store = store
        self.isApproved = isApproved
        self.reportIssue = reportIssue
    }

    func track(_ call: ReloadableCall, variant: WorkflowDefinition.Variant, concurrency: Int) {
        tracked.withLock { $0.append(Tracked(call: call, variant: variant, concurrency: concurrency)) }
    }

    func untrack(_ calls: [ReloadableCall]) {
        let gone = Set(calls.map(ObjectIdentifier.init))
        tracked.withLock { $0.removeAll { gone.contains(ObjectIdentifier($0.call)) } }
    }

    /// Handles a change of the file at `path` (from the watcher); records the outcome.
    @discardableResult
    public func handle(path: String, removed: Bool = false) -> Outcome {
        reloading.withLock { _ in handleAlone(path: path, removed: removed) }
    }

    private func handleAlone(path: String, removed: Bool) -> Outcome {
        let file = ActorCatalog.standardized(path)
        guard let actor = catalog.paths.first(where: { $0.value == file })?.key else { return .ignored(path: path) }
        if removed {
            logger.notice("actor file removed; the loaded version keeps serving", metadata: ["actor": "\(actor)", "path": "\(path)"])
            return .removed(path: path)
        }
        let outcome: Outcome
        if catalog.script(named: actor) != nil {
            outcome = reloadScript(actor, path: path)
        } else {
            outcome = reloadPlugin(actor, path: path)
        }
        record(outcome, actor: actor)
        return outcome
    }

    private func reloadPlugin(_ actor: String, path: String) -> Outcome {
        guard let current = catalog.registry.plugin(named: actor) else { return .ignored(path: path) }
        // One read: the copy in the cache is what gets approved, described, probed and run.
        let entry: PluginCache.Entry
        do {
            try PluginImage.checkIsRegularFile(path)
            let (sha, cached) = try catalog.registry.loader.cache.store(path)
            entry = PluginCache.Entry(sha256: sha, cachedPath: cached)
        } catch {
            return .rejected(path: path, sha256: nil, reason: "cannot read the new file: \(error.description)")
        }
        let sha = entry.sha256
        if sha == current.sha256 { return .unchanged(path: path) }
        if let refusal = approvalRefusal(sha) { return .rejected(path: path, sha256: sha, reason: refusal) }
        let targets = tracked.withLock { $0.filter { $0.variant.actor == actor } }
        do { try store?.recordVersion(actor: actor, sha256: sha, path: path, state: "pending") } catch {
            logger.warning("cannot record the pending version", metadata: ["actor": "\(actor)", "error": "\(error)"])
            reportIssue("cannot record the pending version \(sha.prefix(12)) of \(actor): \(error)")
        }
        // The descriptor is read in a sandboxed worker: a hostile or truncated file can hang
        // or crash the dynamic loader itself, and that must not be this process.
        let next: LoadedPlugin
        do { next = try catalog.registry.loader.load(entry, path: path) } catch {
            return .rejected(path: path, sha256: sha, reason: error.description)
        }
        guard next.name == actor else {
            return .rejected(path: path, sha256: sha, reason: "the file now declares actor \(next.name), not \(actor)")
        }
        do { try probe(next, variants: targets.map(\.variant)) } catch {
            return .rejected(path: path, sha256: sha, reason: error.message)
        }
        if let failure = exampleFailure(next, grants: targets.first?.variant.grants) {
            return .rejected(path: path, sha256: sha, reason: failure)
        }
        var calls: [any ActorCall] = []
        for target in targets {
            do { calls.append(try catalog.makeCall(target.variant, plugin: next, concurrency: target.concurrency)) } catch {
                calls.forEach { $0.retire() }
                return .rejected(path: path, sha256: sha, reason: error.description)
            }
        }
        catalog.registry.replace(with: next)
        for (target, call) in zip(targets, calls) { target.call.swap(to: call) }
        return .swapped(actor: actor, from: current.sha256, to: next.sha256)
    }

    /// Why `sha` may not serve (production pinning), or nil when it may. An error reading
    /// the approvals refuses it: pinning fails closed.
    private func approvalRefusal(_ sha: String) -> String? {
        do {
            return try isApproved(sha) ? nil : "hash \(sha) is not approved for production (wavehost plugins approve \(sha))"
        } catch {
            return "cannot tell whether hash \(sha) is approved (\(error)); it is rejected until the approvals can be read"
        }
    }

    private func reloadScript(_ actor: String, path: String) -> Outcome {
        guard let current = catalog.script(named: actor) else { return .ignored(path: path) }
        // One read: the cached copy's hash is the one approved and run.
        let next: ScriptActor
        do { next = try ScriptActor(path: path, cache: catalog.registry.loader.cache, configuration: catalog.workerConfiguration) } catch {
            return .rejected(path: path, sha256: nil, reason: "cannot read the new file: \(error.description)")
        }
        if next.sha256 == current.sha256 { return .unchanged(path: path) }
        if let refusal = approvalRefusal(next.sha256) { return .rejected(path: path, sha256: next.sha256, reason: refusal) }
        guard next.name == actor else {
            return .rejected(path: path, sha256: next.sha256, reason: "the file now names actor \(next.name), not \(actor)")
        }
        catalog.add(next)
        for target in tracked.withLock({ $0.filter { $0.variant.actor == actor } }) { target.call.swap(to: catalog.makeCall(next)) }
        return .swapped(actor: actor, from: current.sha256, to: next.sha256)
    }

    /// Starts a worker on the new version's cached copy with each tracked variant's config
    /// and grants (`{}` and none when no variant uses it yet): load, ABI negotiation,
    /// descriptor and create, out of this process.
    private func probe(_ plugin: LoadedPlugin, variants: [WorkflowDefinition.Variant]) throws(PluginError) {
        let probes: [(config: [UInt8], grants: WorkflowDefinition.Grants?)] = variants.isEmpty
            ? [(Array("{}".utf8), nil)] : variants.map { ($0.config.bytes, $0.grants) }
        for (config, grants) in probes {
            try plugin.verifyCachedCopy()
            var configuration = catalog.workerConfiguration
            configuration.size = 1
            if let grants { configuration.grant(grants) }
            let pool = WorkerPool(plugin: plugin, config: config, configuration: configuration)
            defer { pool.shutdown() }
            do { try pool.warm(1) } catch { throw PluginError(.loadFailed, path: plugin.path, error.message) }
        }
    }

    /// Runs the plugin's own examples, each in a sandboxed worker with the grants of a
    /// variant that uses it (none when no variant does); nil when all pass.
    private func exampleFailure(_ plugin: LoadedPlugin, grants: WorkflowDefinition.Grants?) -> String? {
        var configuration = catalog.workerConfiguration
        if let grants { configuration.grant(grants) }
        for example in plugin.description.examples {
            let pool = WorkerPool(plugin: plugin, config: example.config.bytes, configuration: configuration)
            defer { pool.shutdown() }
            let verdict: (Bool, String)
            do throws(SandboxFailure) {
                let output = try pool.invoke(example.input.bytes, timeout: .seconds(10))
                verdict = ConformanceCheck.judge(example, .success(output))
            } catch {
                guard case .actorFailed(let status) = error.code else { return "example \"\(example.name)\": \(error.message)" }
                verdict = ConformanceCheck.judge(example, .failure(ActorFailure(status, actor: plugin.name, message: error.message)))
            }
            if !verdict.0 { return "example \"\(example.name)\": \(verdict.1)" }
        }
        return nil
    }

    private func record(_ outcome: Outcome, actor: String) {
        let event: EventRecord
        switch outcome {
        case .swapped(let actor, let from, let to):
            logger.notice("actor swapped", metadata: ["actor": "\(actor)", "from": "\(from.prefix(12))", "to": "\(to.prefix(12))"])
            Counter(label: HostMetrics.reloadSwaps, dimensions: [("actor", actor)]).increment()
            do {
                if let plugin = catalog.registry.plugin(named: actor) {
                    try store?.registerActorVersion(name: actor, kind: "\(plugin.description.kind)", sha256: to,
                                                    version: plugin.description.version, path: plugin.path)
                } else if let script = catalog.script(named: actor) {
                    try store?.registerActorVersion(name: actor, kind: "script", sha256: to, version: "script", path: script.path)
                }
            } catch {
                logger.error("cannot record the new version", metadata: ["actor": "\(actor)", "error": "\(error)"])
                reportIssue("cannot record version \(to.prefix(12)) of \(actor) as current: \(error)")
            }
            event = EventRecord(kind: "actor_version_swapped", cause: "its file changed and the new version passed its checks", interactionID: nil,
                                payload: JSON.object([("actor", .string(actor)), ("from", .string(from)), ("to", .string(to))]).text)
        case .rejected(let path, let sha, let reason):
            logger.warning("actor version rejected; the current one keeps serving", metadata: ["actor": "\(actor)", "path": "\(path)", "reason": "\(reason)"])
            Counter(label: HostMetrics.reloadRejections, dimensions: [("actor", actor)]).increment()
            if let sha {
                do { try store?.recordVersion(actor: actor, sha256: sha, path: path, state: "rejected", reason: reason) } catch {
                    logger.error("cannot record the rejected version", metadata: ["actor": "\(actor)", "error": "\(error)"])
                    reportIssue("cannot record version \(sha.prefix(12)) of \(actor) as rejected: \(error)")
                }
            }
            event = EventRecord(kind: "actor_version_rejected", cause: reason, interactionID: nil, payload: JSON.object([
                ("actor", .string(actor)), ("path", .string(path)), ("sha256", sha.map(JSON.string) ?? .null),
                ("current", (catalog.registry.plugin(named: actor)?.sha256 ?? catalog.script(named: actor)?.sha256).map(JSON.string) ?? .null),
            ]).text)
        default:
            return
        }
        do { try store?.appendEvents([event]) } catch {
            logger.error("cannot record the reload", metadata: ["error": "\(error)"])
            reportIssue("cannot record the reload event of \(actor): \(error)")
        }
    }
}
