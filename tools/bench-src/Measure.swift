import Foundation
import WavehostEngine
import WavehostHash
import WavehostPlugins
#if canImport(Glibc)
import Glibc
#endif

struct BenchContext {
    let productsDirectory: String
    /// The checkout, for bundled assets (scripts, samples).
    let repositoryRoot: String
    /// The C socketpair ping-pong tools/bench built for this run.
    let floorPingPong: String

    func plugin(_ product: String) -> String { "\(productsDirectory)/lib\(product).so" }

    /// A private cache, so a run never reuses another run's copies.
    var cacheDirectory: String { "/tmp/wavehost-bench-\(getpid())" }

    /// The databases a group measures: a SQLite file `file` in its own folder of the cache,
    /// and the PostgreSQL server tools/bench started, when it started one.
    func databases(group: String, file: String) throws -> [(name: String, location: String)] {
        let folder = cacheDirectory + "/" + group
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard let url = ProcessInfo.processInfo.environment["WAVEHOST_BENCH_POSTGRES"] else {
            print("note: no PostgreSQL for the \(group) group (tools/bench starts one when PostgreSQL is installed)")
            return [("sqlite", folder + "/" + file)]
        }
        return [("sqlite", folder + "/" + file), ("postgres", url)]
    }

    /// A loader for the bench's own cache that trusts, by hash, the given products (and
    /// files): the in-process figures run only builds the operator said to trust.
    func trustingLoader(_ products: [String], files: [String] = [], cache: String? = nil) -> PluginLoader {
        let hashes = (products.map(plugin) + files).compactMap { ContentHash.sha256(ofFile: $0) }
        var describer = DescriptorWorker()
        describer.configuration.workerPath = productsDirectory + "/wavehost-worker"
        return PluginLoader(cache: PluginCache(directory: cache ?? cacheDirectory), trust: PluginTrust(hashes), describer: describer)
    }
}

/// Prints one figure in the format every group uses.
func report(_ name: String, _ value: Double, _ unit: String) {
    let text = value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 100)) / 100)
    print("bench: \(name) \(text) \(unit)")
    fflush(nil)
}

func nanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Nanoseconds per call of `body`: the median over `runs` runs of `calls` calls each,
/// after a warm-up run. The median keeps one descheduled run from skewing the figure.
func nanosecondsPerCall(runs: Int = 11, calls: Int, _ body: () -> Void) -> Double {
    for _ in 0..<calls { body() }
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = nanoseconds()
        for _ in 0..<calls { body() }
        samples.append(Double(nanoseconds() - start) / Double(calls))
    }
    samples.sort()
    return samples[samples.count / 2]
}

/// The `p`th percentile of `samples` (unsorted).
func percentile(_ samples: [Double], _ p: Int) -> Double {
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, sorted.count * p / 100)]
}

/// The median of `runs` measurements (nanoseconds) returned by `body`.
func medianNanoseconds(_ runs: Int, _ body: () throws -> Double) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<runs { samples.append(try body()) }
    samples.sort()
    return samples[samples.count / 2]
}

/// Starts a process (stdout and stderr to /dev/null) and waits: nanoseconds from spawn to exit.
func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Double {
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
