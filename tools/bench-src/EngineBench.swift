import Foundation
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostStore

/// The engine's durable throughput: no-op actors (echo-c, in-process) in a 5-step
/// workflow over 10,000 subjects, on SQLite and on PostgreSQL (when tools/bench started
/// one), beside the same database's rate of one-row commits. Host overhead is the
/// process's CPU time per interaction, less the actors' own time. Then the same workflow
/// with each step saving its echo as one typed row of a declared table of its own
/// (`typed_effect_interactions`): one table write and one ledger entry per interaction.
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
    let steps = ["a": "", "b": ", after: [a]", "c": ", after: [a]", "d": ", after: [b, c]", "e": ", after: [d]"].sorted { $0.key < $1.key }
    let typedWorkflow = "workflow: bench-typed\ntables:\n"
        + steps.map { "  items_\($0.key): {columns: {id: text, n: integer, title: text}, key: id}\n" }.joined()
        + "steps:\n"
        + steps.map { "  \($0.key): {actor: echo-c, isolation: inprocess, input: subject\($0.value), save: {table: items_\($0.key), rows: echo, subject: id}}\n" }.joined()
    let typedDefinition = try WorkflowParser(file: "bench-typed.yaml").parse(typedWorkflow)
    let catalog = ActorCatalog(registry: PluginRegistry(loader: context.trustingLoader(["EchoC"])))
    try catalog.add(context.plugin("EchoC"))
    let actorNanoseconds = try echoNanoseconds(context)

    let databases = try context.databases(group: "engine", file: "bench.db")
    let folder = context.cacheDirectory + "/engine"

    for (name, location) in databases {
        let store = try Store(location: location)
        report("engine.\(name).floor_single_row_commits", try store.singleRowCommitsPerSecond(rows: name == "sqlite" ? 2000 : 3000), "commits/s")
        var options = Engine.Options()
        options.concurrency = 2
        let plain = try measure(name, Engine(store: store, catalog: catalog, options: options), definition, workflow, subjects)
        report("engine.\(name).durable_interactions", plain.perSecond, "interactions/s")
        report("engine.\(name).host_cpu_per_interaction", plain.cpuMicroseconds - actorNanoseconds / 1000, "us")
        // The typed run in a store of its own on SQLite, as the plain one had; PostgreSQL's server is shared.
        let typedStore = name == "sqlite" ? try Store(location: folder + "/bench-typed.db") : store
        let typed = try measure(name, Engine(store: typedStore, catalog: catalog, options: options), typedDefinition, typedWorkflow, subjects)
        let rows = try typedStore.declaredTables().filter { $0.schema.name.hasPrefix("items_") }.reduce(0) { $0 + $1.rows }
        guard rows == 50_000 else { throw BenchError("\(name): the typed run left \(rows) rows in its tables, expected 50000") }
        report("engine.\(name).typed_effect_interactions", typed.perSecond, "interactions/s")
        report("engine.\(name).typed_effect_host_cpu_per_interaction", typed.cpuMicroseconds - actorNanoseconds / 1000, "us")
    }
}

/// One engine run of 10,000 subjects through 5 steps: interactions per second, and the
/// process's CPU microseconds per interaction (the actors' share included).
private func measure(_ name: String, _ engine: Engine, _ definition: WorkflowDefinition, _ source: String,
                     _ subjects: [Subject]) throws -> (perSecond: Double, cpuMicroseconds: Double) {
    let cpuBefore = cpuSeconds()
    let clock = ContinuousClock()
    let started = clock.now
    let progress = try engine.run(definition, source: source, subjects: subjects)
    let wall = clock.now - started
    let cpu = cpuSeconds() - cpuBefore
    let interactions = Double(progress.interactionsCompleted)
    guard progress.runsCompleted == subjects.count, interactions == Double(subjects.count * 5) else {
        throw BenchError("\(name) \(definition.name): \(progress.runsCompleted) runs and \(Int(interactions)) interactions completed, "
            + "expected \(subjects.count) and \(subjects.count * 5)")
    }
    let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    return (interactions / seconds, cpu * 1e6 / interactions)
}

/// One echo-c call on a subject-sized input: the actors' share of the CPU time.
private func echoNanoseconds(_ context: BenchContext) throws -> Double {
    let instance = try context.trustingLoader(["EchoC"]).load(context.plugin("EchoC")).makeInstance()
    let input = Array(#"{"n":4242,"title":"Senior Swift engineer"}"#.utf8)
    return nanosecondsPerCall(calls: 100_000) { _ = try? instance.invoke(input) }
}

/// User and system CPU time of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
