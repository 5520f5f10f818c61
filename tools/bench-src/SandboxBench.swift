import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostSandbox

/// Warm sandboxed invoke, cold worker start and a script call, each beside its floor
/// measured in the same run: a bare C socketpair round trip, posix_spawn of /bin/true,
/// and a bare interpreter start.
func benchSandbox(_ context: BenchContext) throws {
    let loader = PluginLoader(cache: PluginCache(directory: context.cacheDirectory))
    let plugin = try loader.load(context.plugin("EchoC"))
    var configuration = WorkerPool.Configuration()
    configuration.workerPath = context.productsDirectory + "/wavehost-worker"
    configuration.size = 1
    let input = Array(#"{"id":"p-00042","title":"Senior Swift engineer","company":"Acme GmbH","city":"Berlin","remote":1}"#.utf8)

    // Floor: two C processes over a socketpair, placed by the scheduler and on one CPU;
    // the floor is the faster (on some VMs a wake-up on the other CPU costs 50 µs, which
    // a floor must not count). Rounds of the floor and of warm calls alternate, so that
    // both see the same machine (other load comes and goes).
    let pool = WorkerPool(plugin: plugin, configuration: configuration)
    for _ in 0..<1000 { _ = try pool.invoke(input, timeout: .seconds(5)) }
    var anyCPU: [(p50: Double, p99: Double)] = [], oneCPU: [(p50: Double, p99: Double)] = []
    var samples: [Double] = []
    for _ in 0..<5 {
        anyCPU.append(try runFloor(context.floorPingPong))
        oneCPU.append(try runFloor(context.floorPingPong, "one-cpu"))
        for _ in 0..<4_000 {
            let start = nanoseconds()
            _ = try pool.invoke(input, timeout: .seconds(5))
            samples.append(Double(nanoseconds() - start))
        }
    }
    pool.shutdown()
    func median(_ floors: [(p50: Double, p99: Double)]) -> (p50: Double, p99: Double) {
        (floors.map(\.p50).sorted()[2], floors.map(\.p99).sorted()[2])
    }
    let (placed, pinned) = (median(anyCPU), median(oneCPU))
    report("sandbox.floor_socketpair_roundtrip_any_cpu_p50", placed.p50 / 1000, "us")
    report("sandbox.floor_socketpair_roundtrip_one_cpu_p50", pinned.p50 / 1000, "us")
    let floor = placed.p50 <= pinned.p50 ? placed : pinned
    report("sandbox.floor_socketpair_roundtrip_p50", floor.p50 / 1000, "us")
    report("sandbox.floor_socketpair_roundtrip_p99", floor.p99 / 1000, "us")
    samples.sort()
    let warm = samples[samples.count / 2]
    report("sandbox.warm_invoke_p50", warm / 1000, "us")
    report("sandbox.warm_invoke_p99", samples[samples.count * 99 / 100] / 1000, "us")
    report("sandbox.warm_p50_over_floor_p50", warm / floor.p50, "x")

    // Floor: posix_spawn of /bin/true to exit.
    let spawnTrue = try medianNanoseconds(50) { try spawnAndWait("/bin/true", []) }
    report("sandbox.floor_spawn_true", spawnTrue / 1e6, "ms")
    var stages: [String: [Double]] = [:]
    var stageOrder: [String] = []
    let cold = try medianNanoseconds(30) {
        let fresh = WorkerPool(plugin: plugin, configuration: configuration)
        let start = nanoseconds()
        _ = try fresh.invoke(input, timeout: .seconds(10))
        let elapsed = Double(nanoseconds() - start)
        // What each stage took: from the previous mark to its own.
        let marks = fresh.lastStartup
        for (previous, mark) in zip(marks, marks.dropFirst()) {
            if stages[mark.stage] == nil { stageOrder.append(mark.stage) }
            stages[mark.stage, default: []].append(Double(mark.at) - Double(previous.at))
        }
        fresh.shutdown()
        return elapsed
    }
    report("sandbox.cold_start_to_first_answer", cold / 1e6, "ms")
    // Where a cold start goes, stage by stage (medians): "prepared" is the host's side
    // (scratch folder, a copy the pool's uid can read), "main" posix_spawn, exec, the
    // dynamic loader and the Swift runtime's start; "init" the two forks of the PID
    // namespace; "loaded" dlopen and create; "ready" the ready frame's trip to the host.
    for stage in stageOrder {
        let times = stages[stage, default: []].sorted()
        report("sandbox.cold_start.\(stage)", times[times.count / 2] / 1e6, "ms")
    }
    report("sandbox.fresh_process_per_call_over_warm", cold / warm, "x")
    // Beside it, bubblewrap's cheapest full sandbox (tools/bench installs Debian's bubblewrap).
    let bwrap = "/usr/bin/bwrap"
    if FileManager.default.isExecutableFile(atPath: bwrap) {
        let bubble = try medianNanoseconds(30) { try spawnAndWait(bwrap, ["--unshare-all", "--ro-bind", "/", "/", "/bin/true"]) }
        report("sandbox.floor_bwrap_unshare_all_true", bubble / 1e6, "ms")
        report("sandbox.cold_start_over_bwrap", cold / bubble, "x")
    } else {
        print("bench: sandbox.floor_bwrap_unshare_all_true skipped: \(bwrap) is not installed")
    }

    // Script actor: the bundled example, beside the bare interpreter start.
    let script = try ScriptActor(path: context.repositoryRoot + "/Plugins/Scripts/word-count.py",
                                 cache: PluginCache(directory: context.cacheDirectory), configuration: configuration)
    let scriptInput = Array(#"{"text":"Senior Swift engineer, Berlin"}"#.utf8)
    let python = try medianNanoseconds(20) { try spawnAndWait("/usr/bin/env", ["python3", "-c", "pass"]) }
    report("sandbox.floor_python_start", python / 1e6, "ms")
    let scriptCall = try medianNanoseconds(20) {
        let start = nanoseconds()
        _ = try script.invoke(scriptInput, timeout: .seconds(10))
        return Double(nanoseconds() - start)
    }
    report("sandbox.script_call", scriptCall / 1e6, "ms")
}

private func runFloor(_ program: String, _ arguments: String...) throws -> (p50: Double, p99: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let fields = text.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
    guard fields.count == 2 else { throw BenchError("floor program answered \(text)") }
    return (fields[0], fields[1])
}
