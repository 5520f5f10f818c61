import Synchronization

/// The actors a host knows, by name. One name maps to one actor version at a time:
/// registering a second file with the same name and a different SHA-256 is refused,
/// because a workflow naming that actor would not know which one it gets.
public final class PluginRegistry: Sendable {
    private let plugins = Mutex<[String: LoadedPlugin]>([:])
    public let loader: PluginLoader

    public init(loader: PluginLoader = PluginLoader()) {
        self.loader = loader
    }

    /// Loads `path` and registers it. Registering the same content twice returns the
    /// plugin already registered.
    @discardableResult
    public func register(_ path: String) throws(PluginError) -> LoadedPlugin {
        try register(plugin: try loader.load(path))
    }

    /// Loads and registers each of `paths` (their descriptors read in workers, several at
    /// once); returns the files refused, with why. One bad file never stops the others.
    public func register(all paths: [String]) -> [(path: String, error: PluginError)] {
        var refused: [(String, PluginError)] = []
        for (path, result) in zip(paths, loader.load(all: paths)) {
            do { try register(plugin: try result.get()) } catch { refused.append((path, error)) }
        }
        return refused
    }

    @discardableResult
    public func register(plugin: LoadedPlugin) throws(PluginError) -> LoadedPlugin {
        let path = plugin.path
        let result: Result<LoadedPlugin, PluginError> = plugins.withLock { plugins in
            if let existing = plugins[plugin.name] {
                guard existing.sha256 == plugin.sha256 else {
                    return .failure(PluginError(.duplicateActor, path: path,
                        "actor \(plugin.name) is already registered from \(existing.path) " +
                        "(sha256 \(existing.sha256.prefix(12))…); this file has sha256 \(plugin.sha256.prefix(12))…"))
                }
                return .success(existing)
            }
            plugins[plugin.name] = plugin
            return .success(plugin)
        }
        return try result.get()
    }

    /// Makes `plugin` the version registered under its name (a hot reload's swap).
    public func replace(with plugin: LoadedPlugin) {
        plugins.withLock { $0[plugin.name] = plugin }
    }

    public func plugin(named name: String) -> LoadedPlugin? {
        plugins.withLock { $0[name] }
    }

    public var all: [LoadedPlugin] {
        plugins.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }
}
