import Foundation
import Synchronization
import WavehostEngine
import WavehostHash
import WavehostPlugins
import WavehostSandbox
import WavehostStore

/// Hot reload under load: echo-c serves a one-step workflow (in-process) while its file is
/// replaced 100 times by rename, alternating two builds (the second is the first with bytes
/// appended: another SHA-256, same code). Per swap: time from the rename to the first
/// interaction that started on the new version (from the store's start times, ms); and
/// the calls lost over all swaps (failed interactions plus runs not completed).
func benchReload(_ context: BenchContext) throws {
    let folder = context.cacheDirectory + "/reload"
    let plugins = folder + "/plugins"
    try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
    let buildA = folder + "/a.so", buildB = folder + "/b.so", live = plugins + "/libecho.so"
    try FileManager.default.copyItem(atPath: context.plugin("EchoC"), toPath: buildA)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: buildA))
    bytes.append(contentsOf: Array("\0wavehost-bench build b".utf8))
    try bytes.write(to: URL(fileURLWithPath: buildB))
    try install(buildA, at: live)

    var workers = WorkerPool.Configuration()
    workers.workerPath = context.productsDirectory + "/wavehost-worker"
    // Both builds run in-process, so both are trusted by hash.
    let loader = context.trustingLoader([], files: [buildA, buildB], cache: folder + "/cache")
    let catalog = ActorCatalog(registry: PluginRegistry(loader: loader), workerConfiguration: workers)
    try catalog.add(live)
    let store = try Store(location: folder + "/reload.db")
    let reloader = HotReloader(catalog: catalog, store: store)
    let outcomes = Mutex<[HotReloader.Outcome]>([])
    let watcher = PluginWatcher(folders: [plugins]) { change in
        let outcome = reloader.handle(path: change.path, removed: change.kind == .removed)
        outcomes.withLock { $0.append(outcome) }
    }
    watcher.start()
    defer { watcher.stop() }

    let subjects = (0..<150_000).map { Subject(key: "s\($0)", payload: ["n": .integer($0)]) }
    let yaml = """
        workflow: reload-bench
        steps:
          only: {actor: echo-c, isolation: inprocess, input: subject}
        """
    let definition = try WorkflowParser(file: "reload.yaml").parse(yaml)
    let finished = Mutex<Result<Engine.Progress, any Error>?>(nil)
    let thread = Thread {
        var options = Engine.Options()
        options.concurrency = 2
        let engine = Engine(store: store, catalog: catalog, options: options, reloader: reloader)
        let result = Result { try engine.run(definition, source: yaml, subjects: subjects) }
        finished.withLock { $0 = result }
    }
    thread.start()
    Thread.sleep(forTimeInterval: 0.3)

    var swaps: [(renamedAt: Int64, sha: String)] = []
    let shaA = ContentHash.sha256(ofFile: buildA)!, shaB = ContentHash.sha256(ofFile: buildB)!
    for swap in 0..<100 {
        let (source, sha) = swap % 2 == 0 ? (buildB, shaB) : (buildA, shaA)
        let before = outcomes.withLock { $0.count }
        let renamedAt = wallMilliseconds()
        try install(source, at: live)
        while outcomes.withLock({ $0.count }) == before { usleep(200) }
        guard case .swapped = outcomes.withLock({ $0.last! }) else { throw BenchError("swap \(swap): \(outcomes.withLock { $0.last! })") }
        swaps.append((renamedAt, sha))
        Thread.sleep(forTimeInterval: 0.01)
    }
    while finished.withLock({ $0 == nil }) { usleep(10_000) }
    let progress = try finished.withLock { $0! }.get()

    var lags: [Int64: Double] = [:]
    for swap in swaps {
        let first = try store.firstStart(actorSHA256: swap.sha, notBefore: swap.renamedAt)
        guard let first else { throw BenchError("no interaction ran on \(swap.sha.prefix(12)) after its rename") }
        lags[swap.renamedAt] = Double(first - swap.renamedAt)
    }
    func lag(_ swap: (renamedAt: Int64, sha: String)) -> Double { lags[swap.renamedAt] ?? 0 }
    let latencies = swaps.map(lag).sorted()
    report("reload.rename_to_first_call_on_new_version_p50", latencies[latencies.count / 2], "ms")
    report("reload.rename_to_first_call_on_new_version_p95", latencies[latencies.count * 95 / 100], "ms")
    report("reload.rename_to_first_call_on_new_version_max", latencies.last!, "ms")
    report("reload.slowest_swap_index", Double(swaps.indices.max { lag(swaps[$0]) < lag(swaps[$1]) } ?? -1), "")
    report("reload.calls_lost_in_100_swaps", Double(progress.interactionsFailed + (subjects.count - progress.runsCompleted)), "calls")
    report("reload.interactions_during_swaps", Double(progress.interactionsCompleted), "interactions")
}

private func install(_ source: String, at path: String) throws {
    let temporary = path + ".tmp"
    try? FileManager.default.removeItem(atPath: temporary)
    try FileManager.default.copyItem(atPath: source, toPath: temporary)
    guard rename(temporary, path) == 0 else { throw BenchError("rename failed: \(String(cString: strerror(errno)))") }
}

private func wallMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}
