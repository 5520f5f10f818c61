import ActorABI
import Logging
import Synchronization
import WavehostSandbox

/// One actor version, copied into the cache and described: a plugin file known by its
/// SHA-256. Its descriptor was read in a sandboxed worker; the library is mapped into
/// this process only for in-process use, and only when the operator trusts its hash.
public final class LoadedPlugin: Sendable {
    /// The file as the user named it.
    public let path: String
    /// The content-addressed copy: what workers load, and what this process maps if trusted.
    public let cachedPath: String
    public let sha256: String
    /// What the descriptor declares, as a worker read it.
    public let description: ActorDescription
    public let trust: PluginTrust
    private let cache: PluginCache
    private let mapped = Mutex<PluginImage?>(nil)

    init(path: String, entry: PluginCache.Entry, description: ActorDescription, trust: PluginTrust, cache: PluginCache) {
        self.path = path
        cachedPath = entry.cachedPath
        sha256 = entry.sha256
        self.description = description
        self.trust = trust
        self.cache = cache
    }

    public var name: String { description.name }

    /// Whether the operator trusts this version to run in the host process.
    /// Fails closed: when the trust list cannot be read, the version is not trusted.
    public var isTrusted: Bool { (try? trust.trusts(sha256)) ?? false }

    /// Checks that the cached copy still holds exactly this version's bytes, right before
    /// it is loaded or handed to a worker.
    public func verifyCachedCopy() throws(PluginError) {
        try cache.verify(cachedPath, sha256: sha256, path: path)
    }

    /// The library mapped into this process, for in-process calls: refused unless the
    /// version is trusted; the copy is hashed again before it is mapped, and what the
    /// library declares here must be what it declared in the worker.
    public func inProcessImage() throws(PluginError) -> PluginImage {
        try trust.check(sha256, actor: name, path: path)
        return try mapped.withLock { image throws(PluginError) -> PluginImage in
            if let image { return image }
            try verifyCachedCopy()
            let opened = try PluginImage(path: path, loadedPath: cachedPath)
            let here = opened.description, there = description
            guard here.name == there.name, here.version == there.version, here.kind == there.kind,
                  here.capabilities == there.capabilities, here.abiVersion == there.abiVersion else {
                throw PluginError(.malformedDescriptor, path: path, "the library declares \(here.name) \(here.version) when "
                    + "loaded in the host, but \(there.name) \(there.version) in a worker; refusing it")
            }
            image = opened
            return opened
        }
    }

    /// Creates an in-process instance with `config` (JSON text; `{}` when empty); its log
    /// messages go to `logger` with the actor's name as metadata. Trusted versions only.
    public func makeInstance(config: [UInt8] = Array("{}".utf8),
                             logger: Logger = Logger(label: "wavehost.actor"), http: HostHTTP? = nil) throws(PluginError) -> ActorInstance
    {
        let image = try inProcessImage()
        var actorLogger = logger
        actorLogger[metadataKey: "actor"] = .string(name)
        let log: HostServicesTable.LogSink = { [actorLogger] level, message in
            actorLogger.log(level: Logger.Level(abiLevel: level), "\(message)")
        }
        var handler: HostServicesTable.HTTPHandler?
        if let http { handler = { request in http.perform(request) } }
        return try image.makeInstance(config: config, log: log, http: handler)
    }
}

extension Logger.Level {
    init(abiLevel level: wh_log_level) {
        self = switch level {
        case WH_LOG_TRACE: .trace
        case WH_LOG_DEBUG: .debug
        case WH_LOG_INFO: .info
        case WH_LOG_WARN: .warning
        default: .error
        }
    }
}
