import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostPlugins
@testable import WavehostStore

/// An in-process call past its deadline cannot be stopped: the watchdog fails it and its
/// thread runs on. A non-thread-safe actor's instance is then held (its serial lock), so a
/// fresh instance must serve the next calls; and past the bound the variant leaves the process.
@Suite struct InProcessDeadlineTests {
    /// Sleeps 3 s on an input holding "slow", answers at once otherwise; not thread-safe.
    private func sleepy() throws -> String {
        try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/sleepy_actor.c",
                                defines: ["SLEEP_MS=3000", "SLEEP_WHEN=\"slow\""], output: "libsleepy.so", flags: ["-std=gnu11"])
    }

    private func catalog(_ file: String, limit: Int) throws -> ActorCatalog {
        let catalog = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(trusting: [file], shipping: false)),
                                   abandonedCallLimit: limit)
        try catalog.add(file)
        return catalog
    }

    private let yaml = """
        workflow: deadlines
        steps:
          nap: {actor: sleepy, isolation: inprocess, timeout: 300ms}
        """

    private func subjects(slow: Int, fast: Int) -> [Subject] {
        (0..<(slow + fast)).map { Subject(key: String(format: "s%02d", $0), payload: ["mode": $0 < slow ? "slow" : "fast"]) }
    }

    @Test func aHeldInstanceIsReplacedSoLaterCallsDoNotWaitBehindIt() throws {
        let store = try EngineFixtures.store(.sqlite)
        var options = Engine.Options()
        options.concurrency = 1  // one thread: the slow call first, then the fast ones
        let progress = try EngineFixtures.run(yaml, subjects(slow: 1, fast: 6), store: store, catalog: try catalog(try sleepy(), limit: 4),
                                              options: options)
        #expect(progress.runsCompleted == 6 && progress.runsFailed == 1, "\(progress)")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'timed_out'") == 1)
        let events = try store.rows("SELECT cause FROM events WHERE kind = 'inprocess_call_abandoned'").compactMap { $0[0].text }
        #expect(events.count == 1 && events[0].contains("is not thread-safe and its instance is held by a call past its deadline"), "\(events)")
    }

    @Test func pastTheBoundTheVariantMovesToASandboxedWorker() throws {
        let store = try EngineFixtures.store(.sqlite)
        var options = Engine.Options()
        options.concurrency = 1
        let progress = try EngineFixtures.run(yaml, subjects(slow: 3, fast: 2), store: store, catalog: try catalog(try sleepy(), limit: 1),
                                              options: options)
        #expect(progress.runsCompleted == 2 && progress.runsFailed == 3, "\(progress)")
        let errors = try store.rows("SELECT error FROM interactions WHERE status = 'timed_out' ORDER BY id").compactMap { $0[0].text }
        #expect(errors.count == 3)
        #expect(errors.prefix(2).allSatisfy { $0.contains("the watchdog failed the interaction") }, "two abandoned in process: \(errors)")
        let events = try store.rows("SELECT kind, cause FROM events")
        #expect(errors.last?.contains("the worker was killed") == true, "the third was cut at its deadline in a worker: \(errors) \(events)")
        let moved = try store.rows("SELECT cause FROM events WHERE kind = 'inprocess_call_abandoned' AND cause LIKE '%sandboxed worker%'")
        #expect(moved.count == 1, "\(moved)")
    }
}
