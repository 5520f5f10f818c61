import Foundation
import Synchronization
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// Weights change while the engine runs, from another process, and apply within a second.
@Suite struct LiveVariantTests {
    static let subjects = 80_000

    @Test func aWeightSetWhileRunningAppliesFromTheNextInteractions() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let database = folder + "/wavehost.db"
        let store = try Store(location: database)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        let yaml = """
            workflow: live
            steps:
              only:
                input: subject
                variants:
                  - {actor: echo-c, config: {wrap: champion}, weight: 50, isolation: inprocess}
                  - {actor: echo-c, config: {wrap: challenger}, role: challenger, weight: 50, isolation: inprocess}
            """
        let finished = Mutex<Result<Engine.Progress, any Error>?>(nil)
        let thread = Thread {
            var options = Engine.Options()
            options.concurrency = 1
            options.runsInFlight = 200  // keeps the run going long enough to see the change land
            // Enough runs that the engine is still busy after the CLI's change lands, even when
            // the machine is loaded (30,000 once finished before a slow `variants` process returned).
            let result = Result { try EngineFixtures.run(yaml, EngineFixtures.subjects(Self.subjects), store: store, catalog: catalog, options: options) }
            finished.withLock { $0 = result }
        }
        thread.start()
        try CrashRecoveryTests.waitForCompleted(1000, in: store)
        let challenger = try #require(try store.variants(workflow: "live", step: "only").first { $0.role == .challenger })
        let result = try TestPlugins.run(TestPlugins.cli, ["variants", "set-weight", "--workflow", "live", String(challenger.id), "0",
                                                           "--database", database])
        #expect(result.status == 0, "\(result.error)")
        let changedAt = Store.now()  // committed by now; the engine reads changes every second
        for _ in 0..<30_000 where finished.withLock({ $0 == nil }) { usleep(10_000) }
        let progress = try #require(try finished.withLock { $0 }?.get())
        #expect(progress.runsCompleted == Self.subjects)
        let settled = changedAt + 2500
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE variant_id = \(challenger.id) AND started_at > \(settled)") == 0,
                "no traffic to a variant at weight 0 once the change was read")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE variant_id <> \(challenger.id) AND started_at > \(settled)") > 0,
                "the run went on after the change (else this test proves nothing)")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'variant_changed'") == 1)
    }
}
