import ActorRuntime
import Foundation
import Synchronization
import WavehostJSON
import WavehostPlugins
import WavehostSandbox

/// How one call to an actor ended, in the engine's terms.
public enum CallOutcome: Sendable {
    case output([UInt8])
    /// `retryable`: worth another attempt if the step's policy allows one.
    case failed(String, retryable: Bool)
    case timedOut(String)
}

/// One variant made callable: an actor with its config, in its isolation.
public protocol ActorCall: Sendable {
    var actor: String { get }
    /// The SHA-256 of the file that serves the calls, recorded on each interaction.
    var sha256: String { get }
    /// True when the call runs in this process and cannot be stopped at its deadline
    /// (the watchdog then abandons it).
    var runsInProcess: Bool { get }
    /// The actor touches the outside world itself (`WH_CAP_EXTERNAL_EFFECTS`): the engine
    /// never runs it in a shadow or a test run.
    var externalEffects: Bool { get }
    func call(_ input: [UInt8], timeout: Duration) -> CallOutcome
    /// The version that serves the next call, held until `end`: the hash recorded on an
    /// interaction is the hash of the version that answered it, even across a swap.
    func begin() -> any ActorCall
    func end(_ version: any ActorCall)
    /// Releases what the version holds (its workers) once no call needs it.
    func retire()
    /// The watchdog gave up on a call past its deadline that could not be stopped (in
    /// process): what the version did about it, for the log and the events.
    func abandonOverdue() -> [String]
}

extension ActorCall {
    public var externalEffects: Bool { false }
    public func begin() -> any ActorCall { self }
    public func end(_ version: any ActorCall) {}
    public func retire() {}
    public func abandonOverdue() -> [String] { [] }
}

/// The actors a host can run, by name: plugins (shared libraries) and scripts.
public final class ActorCatalog: Sendable {
    public let registry: PluginRegistry
    private let scripts = Mutex<[String: ScriptActor]>([:])
    public let workerConfiguration: WorkerPool.Configuration
    /// In-process calls a variant may leave running past their deadline before it is moved to
    /// a sandboxed worker (each holds a thread; see ``InProcessCall``).
    public let abandonedCallLimit: Int

    public init(registry: PluginRegistry = PluginRegistry(), workerConfiguration: WorkerPool.Configuration = .init(),
                abandonedCallLimit: Int = InProcessCall.defaultAbandonedLimit) {
        self.registry = registry
        self.workerConfiguration = workerConfiguration
        self.abandonedCallLimit = max(0, abandonedCallLimit)
    }

    /// Adds every plugin (an ELF file exporting the entry point) and script in `folder`.
    /// Returns the files skipped, with why, for the caller to show.
    @discardableResult
    public func addFolder(_ folder: String) throws(PluginError) -> [(path: String, reason: String)] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw PluginError(.notFound, path: folder, "cannot read the plugin folder (\(error.localizedDescription))")
        }
        var skipped: [(String, String)] = []
        var libraries: [String] = []
        for name in names.sorted() {
            let path = folder + "/" + name
            let fileExtension = (name as NSString).pathExtension
            if fileExtension == "so" {
                libraries.append(path)
            } else if ScriptActor.interpretersByExtension[fileExtension] != nil {
                do { try add(script: path) } catch { skipped.append((path, error.description)) }
            }
        }
        // Descriptors are read in workers, several at once; a file that hangs or crashes
        // there is skipped with its reason and the rest of the folder loads.
        skipped += registry.register(all: libraries).map { ($0.path, $0.error.description) }
        return skipped.sorted { $0.0 < $1.0 }
    }

    /// Adds one plugin or script file.
    public func add(_ path: String) throws(PluginError) {
        if PluginImage.hasELFMagic(path) { try registry.register(path) } else { try add(script: path) }
    }

    @discardableResult
    func add(script path: String) throws(PluginError) -> ScriptActor {
        let script = try ScriptActor(path: path, cache: registry.loader.cache, configuration: workerConfiguration)
        add(script)
        return script
    }

    /// Makes `script` the version known by its name (a hot reload's swap).
    func add(_ script: ScriptActor) {
        scripts.withLock { $0[script.name] = script }
    }

    public func script(named name: String) -> ScriptActor? { scripts.withLock { $0[name] } }

    /// The file each actor was loaded from, standardized, by actor name.
    public var paths: [String: String] {
        var paths: [String: String] = [:]
        for plugin in registry.all { paths[plugin.name] = Self.standardized(plugin.path) }
        for script in scripts.withLock({ Array($0.values) }) { paths[script.name] = Self.standardized(script.path) }
        return paths
    }

    /// A worker's "worker did not start: <file>: create failed: <the actor's reason>", as
    /// the actor's reason alone: the error that carries it says "create failed" already.
    static func createRefusal(_ message: String) -> String {
        guard let last = message.range(of: "create failed: ", options: .backwards) else { return message }
        return String(message[last.upperBound...])
    }

    static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    public var names: Set<String> {
        Set(registry.all.map(\.name)).union(scripts.withLock { Set($0.keys) })
    }

    /// Per actor, the config keys its schema marks `"x-wavehost-template": true`: strings of
    /// `{{dotted.path}}` references into the input, which the workflow parser checks.
    public var templateFields: [String: Set<String>] {
        var fields: [String: Set<String>] = [:]
        for plugin in registry.all {
            let properties = plugin.description.configSchema?["properties"]?.objectValue ?? []
            let templates = properties.filter { $0.value["x-wavehost-template"] == .bool(true) }.map(\.key)
            if !templates.isEmpty { fields[plugin.name] = Set(templates) }
        }
        return fields
    }

    /// Name, kind, SHA-256, version and path of each actor, for the store's records.
    public func versions(of actors: Set<String>) -> [(name: String, kind: String, sha256: String, version: String, path: String)] {
        actors.sorted().compactMap { name in
            if let plugin = registry.plugin(named: name) {
                return (name, "\(plugin.description.kind)", plugin.sha256, plugin.description.version, plugin.path)
            }
            return scripts.withLock { $0[name] }.map { (name, "script", $0.sha256, "script", $0.path) }
        }
    }

    /// A callable for `variant`, with room for `concurrency` calls at once.
    public func makeCall(_ variant: WorkflowDefinition.Variant, concurrency: Int) throws(PluginError) -> any ActorCall {
        if let script = scripts.withLock({ $0[variant.actor] }) { return makeCall(script) }
        guard let plugin = registry.plugin(named: variant.actor) else {
            throw PluginError(.notFound, path: variant.actor, "no actor named \(variant.actor) (known: \(names.sorted().joined(separator: ", ")))")
        }
        return try makeCall(variant, plugin: plugin, concurrency: concurrency)
    }

    /// A script actor's callable: a fresh sandboxed process per call.
    public func makeCall(_ script: ScriptActor) -> any ActorCall {
        SandboxedCall(actor: script.name, sha256: script.sha256, retireWorkers: {}) { input, timeout throws(SandboxFailure) in
            try script.invoke(input, timeout: timeout)
        }
    }

    /// A callable for `variant` served by `plugin` (the current version, or a new one
    /// being checked before a swap). Creating it creates the actor with the variant's config.
    public func makeCall(_ variant: WorkflowDefinition.Variant, plugin: LoadedPlugin, concurrency: Int) throws(PluginError) -> any ActorCall {
        // The bytes that run are the bytes that were hashed and described.
        try plugin.verifyCachedCopy()
        let config = variant.config.bytes
        var configuration = workerConfiguration
        configuration.size = concurrency
        if let limits = variant.limits {
            // The workflow parser refuses invalid limits; any that reach here fail the call, never become the defaults.
            do { configuration.limits = try SandboxLimits(json: limits) } catch {
                throw PluginError(.createFailed, path: plugin.path, "variant limits \(limits.text) are invalid: \(error)")
            }
        }
        // The host's HTTP service, held to the variant's grant (no grant: it refuses every request).
        let http = HostHTTP(actor: plugin.name, grant: variant.grants.network, responseLimit: configuration.limits.httpResponseBytes,
                            secrets: HostHTTP.secretNames(in: variant.config), interactionsOnly: true)
        configuration.grant(variant.grants)
        configuration.hostHTTP = http
        let sandboxed = { @Sendable [configuration] () throws(PluginError) -> any ActorCall in
            // Network by grant, not by claim: a declared capability without the variant's grant is refused here.
            if plugin.description.capabilities.contains(.network) && variant.grants.network == nil {
                throw PluginError(.createFailed, path: plugin.path, NetworkGrant.notGranted(actor: plugin.name))
            }
            let pool = WorkerPool(plugin: plugin, config: config, configuration: configuration)
            // One worker now: a config the actor refuses stops the run before it starts.
            do throws(SandboxFailure) { try pool.warm(1) } catch {
                throw PluginError(.createFailed, path: plugin.path, Self.createRefusal(error.message))
            }
            var call = SandboxedCall(actor: plugin.name, sha256: plugin.sha256, retireWorkers: { pool.shutdown() }) { input, timeout throws(SandboxFailure) in
                try pool.invoke(input, timeout: timeout)
            }
            call.externalEffects = plugin.description.capabilities.contains(.externalEffects)
            return call
        }
        switch variant.isolation {
        case .inprocess:
            return try InProcessCall(actor: plugin.name, sha256: plugin.sha256, threadSafe: plugin.description.capabilities.contains(.threadSafe),
                                 externalEffects: plugin.description.capabilities.contains(.externalEffects),
                                 http: http, abandonedLimit: abandonedCallLimit,
                                 makeInstance: { () throws(PluginError) in try plugin.makeInstance(config: config, http: http) },
                                 makeSandboxed: sandboxed)
        case .process:
            return try sandboxed()
        }
    }
}

/// A worker process (plugin) or a script process: killed at its deadline.
struct SandboxedCall: ActorCall {
    let actor: String
    let sha256: String
    let retireWorkers: @Sendable () -> Void
    let invoke: @Sendable ([UInt8], Duration) throws(SandboxFailure) -> [UInt8]
    var externalEffects = false
    var runsInProcess: Bool { false }

    func retire() { retireWorkers() }

    func call(_ input: [UInt8], timeout: Duration) -> CallOutcome {
        do {
            return .output(try invoke(input, timeout))
        } catch {
            switch error.code {
            case .timedOut: return .timedOut(error.description)
            case .actorFailed(let status): return .failed(error.description, retryable: status.isRetryable)
            case .crashed, .outputTooLarge, .protocolViolation, .startFailed: return .failed(error.description, retryable: true)
            }
        }
    }
}

extension WorkerPool.Configuration {
    /// What a variant grants its workers: the network, host variables, paths to read.
    mutating func grant(_ grants: WorkflowDefinition.Grants) {
        networkGrant = grants.network
        environmentGrant = grants.environment
        readGrant = grants.read
    }
}
