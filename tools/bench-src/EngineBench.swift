import Foundation
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostStore

/// The engine's durable throughput: no-op actors (echo-c, in-process) in a 5-step
/// workflow over 10,000 subjects, on SQLite and on PostgreSQL (when tools/bench started
/// one), beside the same database's rate of one-row commits. Host overhead is the
/// process's CPU time per interaction, less the actors' own time.
func benchEngine(_ context: BenchContext) throws {
    let subjects = (0..<10_000).map { Subject(key: "s\($0)", payload: ["n": .integer($0), "title": "Senior Swift engineer"]) }
    let workflow = """
        workflow: bench
        steps:
          a: {actor: echo-c, isolation: inprocess, input: subject}
          b: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          c: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          d: {actor: echo-c, isolation: inprocess, input: subject, after: [b, c]}
          e: {actor: echo-c, isolation: inprocess, input: subject, after: [d]}
        """
    let definition = try WorkflowParser(file: "bench.yaml").parse(workflow)
    let catalog = ActorCatalog(registry: PluginRegistry(loader: context.trustingLoader(["EchoC"])))
    try catalog.add(context.plugin("EchoC"))
    let actorNanoseconds = try echoNanoseconds(context)

    var databases: [(name: String, location: String)] = []
    let folder = context.cacheDirectory + "/engine"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    databases.append(("sqlite", folder + "/bench.db"))
    if let url = ProcessInfo.processInfo.environment["WAVEHOST_BENCH_POSTGRES"] { databases.append(("postgres", url)) }
    else { print("note: no PostgreSQL for the engine group (tools/bench starts one when PostgreSQL is installed)") }

    for (name, location) in databases {
        let store = try Store(location: location)
        report("engine.\(name).floor_single_row_commits", try store.singleRowCommitsPerSecond(rows: name == "sqlite" ? 2000 : 3000), "commits/s")
        var options = Engine.Options()
        options.concurrency = 2
        let cpuBefore = cpuSeconds()
        let clock = ContinuousClock()
        let started = clock.now
        let progress = try Engine(store: store, catalog: catalog, options: options).run(definition, source: workflow, subjects: subjects)
        let wall = clock.now - started
        let cpu = cpuSeconds() - cpuBefore
        let interactions = Double(progress.interactionsCompleted)
        guard progress.runsCompleted == subjects.count, interactions == 50_000 else {
            throw BenchError("\(name): \(progress.runsCompleted) runs and \(Int(interactions)) interactions completed, expected 10000 and 50000")
        }
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        report("engine.\(name).durable_interactions", interactions / seconds, "interactions/s")
        report("engine.\(name).host_cpu_per_interaction", (cpu * 1e6 - interactions * actorNanoseconds / 1000) / interactions, "us")
    }
}

/// One echo-c call on a subject-sized input: the actors' share of the CPU time.
private func echoNanoseconds(_ context: BenchContext) throws -> Double {
    let instance = try context.trustingLoader(["EchoC"]).load(context.plugin("EchoC")).makeInstance()
    let input = Array(#"{"n":4242,"title":"Senior Swift engineer"}"#.utf8)
    return nanosecondsPerCall(calls: 100_000) { _ = try? instance.invoke(input) }
}

/// User and system CPU time of this process so far.
private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
