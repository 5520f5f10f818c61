import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// An engine kept across runs (`keepsCallsAcrossRuns`, as `serve` keeps one per workflow):
/// the same worker serves every run, a weight changed between runs applies to the next,
/// and `close` retires the workers.
@Suite struct EngineReuseTests {
    static let yaml = """
        workflow: reuse
        steps:
          only:
            input: subject
            variants:
              - {actor: sleepy, weight: 100}
              - {actor: echo-c, role: challenger, weight: 0, isolation: inprocess}
        """

    @Test func aKeptEngineServesEveryRunFromTheSameWorkerAndAppliesWeightChangesBetweenRuns() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try ServeHost.sleepy(1, into: folder)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: [folder + "/libsleepy.so"], trusting: ["EchoC"])
        let store = try Store(location: folder + "/wavehost.db")
        var options = Engine.Options()
        options.concurrency = 1
        options.keepsCallsAcrossRuns = true
        let engine = Engine(store: store, catalog: catalog, options: options)
        let workflow = try EngineFixtures.workflow(Self.yaml)
        // The worker processes loading this build (its hash is in their command line).
        let sha256 = try TestPlugins.sha256(folder + "/libsleepy.so")
        var samples: [Set<pid_t>] = []
        for run in 0..<5 {
            let progress = try engine.run(workflow, source: Self.yaml, subjects: EngineFixtures.subjects(3).map {
                Subject(key: "r\(run)-\($0.key)", payload: $0.payload)
            })
            #expect(progress.interactionsCompleted == 3)
            samples.append(Self.processes(loading: sha256))
        }
        #expect(!samples[0].isEmpty)
        #expect(samples.allSatisfy { $0 == samples[0] }, "the workers after each run: \(samples.map { $0.sorted() })")

        // The weights swap between runs; the next run's first interaction already meets the new ones.
        let variants = try store.variants(workflow: "reuse", step: "only")
        let sleepy = try #require(variants.first { $0.actor == "sleepy" }), echo = try #require(variants.first { $0.actor == "echo-c" })
        try store.changeVariant(sleepy.id, weight: 0, cause: "test")
        try store.changeVariant(echo.id, weight: 100, cause: "test")
        let before = try store.count("SELECT COALESCE(MAX(id), 0) FROM interactions")
        try engine.run(workflow, source: Self.yaml, subjects: [Subject(key: "after", payload: [:])])
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE id > \(before) AND variant_id = \(echo.id)") == 1)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE id > \(before) AND variant_id = \(sleepy.id)") == 0)

        engine.close()
        var left = Self.processes(loading: sha256)
        for _ in 0..<200 where !left.isEmpty {
            usleep(50_000)
            left = Self.processes(loading: sha256)
        }
        #expect(left.isEmpty, "workers \(left.sorted()) outlived close()")
    }

    /// Processes whose command line names `sha256` (a worker's `--plugin` is the cached copy).
    static func processes(loading sha256: String) -> Set<pid_t> {
        var found: Set<pid_t> = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
            if String(decoding: data, as: UTF8.self).contains(sha256) { found.insert(pid) }
        }
        return found
    }
}
