import WavehostEngine
import WavehostPlugins
import WavehostRouting
import WavehostStore

/// The cost of one sticky weighted choice (hash the subject, look up its slot), with 2 and
/// 20 live variants, beside hashing the subject alone (the floor: a choice cannot cost less).
func benchRouting(_ context: BenchContext) throws {
    let subjects = (0..<4096).map { "posting-\($0 * 7919)" }
    var index = 0
    var sink = 0
    let floor = nanosecondsPerCall(calls: 2_000_000) {
        index = (index + 1) & 4095
        for byte in subjects[index].utf8 { sink &+= Int(byte) }
    }
    report("routing.floor_walk_subject_bytes", floor, "ns")
    for count in [2, 20] {
        let router = StickyRouter(step: "grade", salt: "bench", variants: (1...count).map { .init(id: Int64($0), weight: $0 * 10) })
        let perCall = nanosecondsPerCall(calls: 2_000_000) {
            index = (index + 1) & 4095
            sink &+= Int(router.choose(subjects[index]).id)
        }
        report("routing.choice_\(count)_variants", perCall, "ns")
    }
    if sink == 42 { print("") }  // keeps the loops from being optimised away
    try benchShadowing(context)
}

/// Engine wall time over 5,000 subjects of a 5-step workflow (echo-c, in-process, SQLite)
/// with one shadow variant on every step, beside the same without: the shadows double the
/// actors' work and the interactions written; the ratio says what they cost in all.
func benchShadowing(_ context: BenchContext) throws {
    let catalog = ActorCatalog(registry: PluginRegistry(loader: context.trustingLoader(["EchoC"])))
    try catalog.add(context.plugin("EchoC"))
    func seconds(shadowed: Bool) throws -> Double {
        let shadow = shadowed ? ", {actor: echo-c, mode: shadow, isolation: inprocess, config: {wrap: shadow}}" : ""
        let steps = ["a": "", "b": "a", "c": "a", "d": "b, c", "e": "d"].sorted { $0.key < $1.key }.map { name, after in
            "  \(name):\n    after: [\(after)]\n    input: subject\n    variants: [{actor: echo-c, isolation: inprocess}\(shadow)]"
        }
        let yaml = "workflow: shadow-bench-\(shadowed)\nsteps:\n" + steps.joined(separator: "\n")
        let store = try Store(location: context.cacheDirectory + "/shadow-\(shadowed).db")
        var options = Engine.Options()
        options.concurrency = 2
        let clock = ContinuousClock()
        let started = clock.now
        _ = try Engine(store: store, catalog: catalog, options: options)
            .run(try WorkflowParser(file: "shadow.yaml").parse(yaml), source: yaml,
                 subjects: (0..<5000).map { Subject(key: "s\($0)", payload: ["n": .integer($0)]) })
        let elapsed = clock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
    let plain = try seconds(shadowed: false)
    let shadowed = try seconds(shadowed: true)
    report("routing.engine_without_shadows", 25_000 / plain, "interactions/s")
    report("routing.engine_with_a_shadow_on_every_step", 50_000 / shadowed, "interactions/s")
    report("routing.shadowed_time_over_plain", shadowed / plain, "x (the work doubles: 2x)")
}
