import Host

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

private func medianNanoseconds(_ runs: Int, _ body: () throws -> Double) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<runs { samples.append(try body()) }
    samples.sort()
    return samples[samples.count / 2]
}

/// Starts a process (stdout and stderr to /dev/null) and waits: nanoseconds from spawn to exit.
private func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Double {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = nanoseconds()
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { throw BenchError("cannot spawn \(path)") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    guard status == 0 else { throw BenchError("\(path) \(arguments.joined(separator: " ")) failed with status \(status)") }
    return Double(nanoseconds() - start)
}
