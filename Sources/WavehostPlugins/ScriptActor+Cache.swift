import ActorRuntime
import WavehostSandbox

extension ScriptActor {
    /// The script at `path`, copied into `cache` and run from the copy: an edit on disk
    /// never changes a version already loaded.
    public convenience init(path: String, cache: PluginCache = PluginCache(directory: PluginCache.defaultDirectory),
                            interpreter: [String]? = nil, configuration: WorkerPool.Configuration = .init()) throws(PluginError)
    {
        try self.init(path: path, copy: { (path, fileExtension) throws(PluginError) in try cache.store(path, fileExtension: fileExtension) },
                      interpreter: interpreter, configuration: configuration)
    }
}
