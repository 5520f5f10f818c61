import ActorRuntime
import WavehostJSON
import WavehostSandbox

extension WorkerPool {
    /// A pool for a loaded plugin. Its workers get the network only when the plugin
    /// declares it and `configuration` grants it: by grant, never by claim (the engine
    /// and the CLI refuse a declared capability that the variant does not grant).
    public convenience init(plugin: LoadedPlugin, config: [UInt8] = Array("{}".utf8),
                            configuration: Configuration = Configuration(),
                            log: @escaping HostServicesTable.LogSink = { _, _ in })
    {
        var configuration = configuration
        configuration.limits.network = plugin.description.capabilities.contains(.network) && configuration.networkGrant != nil
        // The host's HTTP service, held to the same grant (none: it refuses every request).
        // A config that is not JSON names no secrets (and the actor's create refuses it anyway).
        if configuration.hostHTTP == nil {
            configuration.hostHTTP = HostHTTP(actor: plugin.name, grant: configuration.networkGrant, responseLimit: configuration.limits.httpResponseBytes,
                                              secrets: HostHTTP.secretNames(in: (try? JSON.parse(config)) ?? [:]))
        }
        self.init(pluginPath: plugin.cachedPath, actor: plugin.name, config: config, configuration: configuration,
                  sourcePath: plugin.path, log: log)
    }
}
