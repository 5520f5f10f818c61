@_exported import ActorRuntime
import Dispatch
import Synchronization

/// Loads actor plugins the host way: copies each file into the content-addressed cache
/// and reads the copy's descriptor in a sandboxed worker. Nothing of the plugin runs in
/// this process here; ``LoadedPlugin/makeInstance(config:logger:)`` maps it later, for
/// versions `trust` trusts only.
public struct PluginLoader: Sendable {
    /// The ABI versions this host speaks, newest last.
    public static var supportedABIVersions: ClosedRange<UInt32> { PluginImage.supportedABIVersions }

    public let cache: PluginCache
    public let trust: PluginTrust
    public var describer: DescriptorWorker

    public init(cache: PluginCache = PluginCache(directory: PluginCache.defaultDirectory), trust: PluginTrust = PluginTrust(),
                describer: DescriptorWorker = DescriptorWorker())
    {
        self.cache = cache
        self.trust = trust
        self.describer = describer
    }

    public func load(_ path: String) throws(PluginError) -> LoadedPlugin {
        try PluginImage.checkIsRegularFile(path)
        let (sha256, cachedPath) = try cache.store(path)
        return try load(PluginCache.Entry(sha256: sha256, cachedPath: cachedPath), path: path)
    }

    /// Describes a copy already in the cache (as a hot reload does: the bytes it approved
    /// are the bytes it checks and runs).
    public func load(_ entry: PluginCache.Entry, path: String) throws(PluginError) -> LoadedPlugin {
        try cache.verify(entry.cachedPath, sha256: entry.sha256, path: path)
        guard PluginImage.hasELFMagic(entry.cachedPath) else {
            throw PluginError(.notSharedObject, path: path, "the file is not an ELF shared object")
        }
        let description = try describer.describe(entry.cachedPath, sha256: entry.sha256, path: path)
        return LoadedPlugin(path: path, entry: entry, description: description, trust: trust, cache: cache)
    }

    /// Loads each of `paths`, several at once (each is a worker start), in the order given.
    public func load(all paths: [String]) -> [Result<LoadedPlugin, PluginError>] {
        let results = Mutex([Result<LoadedPlugin, PluginError>?](repeating: nil, count: paths.count))
        let width = max(1, min(paths.count, 4))
        let next = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: width) { _ in
            while case let index = next.add(1, ordering: .relaxed).oldValue, index < paths.count {
                let result: Result<LoadedPlugin, PluginError>
                do throws(PluginError) { result = .success(try load(paths[index])) } catch { result = .failure(error) }
                results.withLock { $0[index] = result }
            }
        }
        return results.withLock { $0.map { $0! } }
    }
}
