import ArgumentParser
import Host

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show which sandbox layers this machine supports, and where Wavehost keeps things."
    )

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let worker = WorkerPool.defaultWorkerPath
        print("worker        \(worker)")
        print("plugin cache  \(cache.directory ?? PluginCache.defaultDirectory)")
        print("sandbox layers (for an actor without the network capability):")
        do {
            for (layer, status) in try SandboxProbe.layers(workerPath: worker) {
                print("  \(layer.padding(20))\(status)")
            }
        } catch {
            printError("error: \(error)")
            throw ExitStatus.pluginError
        }
    }
}
