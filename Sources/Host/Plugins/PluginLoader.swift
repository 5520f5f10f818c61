@_exported import ActorRuntime

/// Loads actor plugins the host way: copies each file into the content-addressed cache
/// and maps the copy, so every version has its own path and a file replaced on disk
/// never changes what is already loaded.
public struct PluginLoader: Sendable {
    /// The ABI versions this host speaks, newest last.
    public static var supportedABIVersions: ClosedRange<UInt32> { PluginImage.supportedABIVersions }

    public let cache: PluginCache

    public init(cache: PluginCache = PluginCache(directory: PluginCache.defaultDirectory)) {
        self.cache = cache
    }

    public func load(_ path: String) throws(PluginError) -> LoadedPlugin {
        try PluginImage.checkIsRegularFile(path)
        let (sha256, cachedPath) = try cache.store(path)
        return LoadedPlugin(image: try PluginImage(path: path, loadedPath: cachedPath), sha256: sha256)
    }
}
