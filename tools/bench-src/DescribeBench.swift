import WavehostEngine
import WavehostPlugins

#if canImport(Glibc)
import Glibc
#endif

/// Reading a descriptor through a sandboxed worker (what a folder scan, `inspect` and a
/// hot reload pay per new version, once: descriptions are kept by hash), beside
/// posix_spawn of /bin/true measured in the same run; and `wavehost plugins inspect` of
/// one plugin, end to end (the CLI's own start-up included).
func benchDescribe(_ context: BenchContext) throws {
    let spawnTrue = try medianNanoseconds(50) { try spawnAndWait("/bin/true", []) }
    report("describe.floor_spawn_true", spawnTrue / 1e6, "ms")

    let loader = context.trustingLoader([])
    for (product, name) in [("EchoC", "echo_c"), ("JSONTransform", "json_transform_swift")] {
        let plugin = try loader.load(context.plugin(product))
        let worker = loader.describer
        let described = try medianNanoseconds(30) {
            DescriptorWorker.forget(plugin.sha256)
            let start = nanoseconds()
            _ = try worker.describe(plugin.cachedPath, sha256: plugin.sha256, path: plugin.path)
            return Double(nanoseconds() - start)
        }
        report("describe.worker_\(name)", described / 1e6, "ms")
        report("describe.worker_\(name)_over_spawn_true", described / spawnTrue, "x")
        let cached = nanosecondsPerCall(runs: 5, calls: 1000) { _ = try? worker.describe(plugin.cachedPath, sha256: plugin.sha256, path: plugin.path) }
        report("describe.cached_\(name)", cached / 1000, "us")
    }
    let cli = context.productsDirectory + "/wavehost"
    let inspect = try medianNanoseconds(15) {
        try spawnAndWait(cli, ["plugins", "inspect", context.plugin("EchoC"), "--cache-dir", context.cacheDirectory + "/inspect"])
    }
    report("describe.cli_inspect_echo_c", inspect / 1e6, "ms")
}
