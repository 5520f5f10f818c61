import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// A host that dies mid-interaction is not the actor's failure: the run's next host retries
/// the step without using an attempt — up to three host deaths on one step, after which the
/// run fails naming them (a subject that kills every host it meets must not kill them all).
@Suite struct HostDeathTests {
    static let yaml = """
        workflow: deaths
        steps:
          a: {actor: echo-c, isolation: inprocess, input: subject}
        """

    /// Leaves the one run as `deaths` hosts elsewhere would: each takes it over once the
    /// previous one's lease lapsed, records step `a` running, and dies (stops renewing).
    static func die(_ deaths: Int, store: Store) throws {
        let stored = try store.registerWorkflow(try EngineFixtures.workflow(yaml), source: yaml)
        try store.addSubjects([Subject(key: "s0", payload: ["n": 0])], workflowID: stored.id)
        for death in 1...deaths {
            let owner = "elsewhere-\(death):\(death):dead"
            let claimed = try store.claimRuns(workflowID: stored.id, owner: owner, limit: 1, lease: .milliseconds(1)) { _ in false }
            let run = try #require(claimed.first, "host \(death) took the run over")
            var batch = JournalBatch(id: UUID().uuidString)
            batch.owner = owner
            batch.starts = [InteractionStart(id: try #require(try store.reserveInteractionIDs(1).first), runID: run.id,
                                             stepID: try #require(stored.stepIDs["a"]), variantID: nil, parentID: nil, actorSHA256: nil,
                                             attempt: 1, input: Array("{}".utf8), startedAt: Store.now(), owner: owner, cause: "first attempt")]
            _ = try store.commit(batch)
            usleep(5_000)  // its 1 ms lease lapses
        }
    }

    @Test(arguments: Backend.allCases)
    func twoHostDeathsUseNoAttempt(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        try Self.die(2, store: store)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        let progress = try EngineFixtures.run(Self.yaml, [], store: store, catalog: catalog)
        #expect(progress.runsCompleted == 1 && progress.runsFailed == 0, "one attempt, and the deaths did not use it")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE error LIKE 'taken back: host elsewhere-%'") == 2)
        #expect(try store.count("SELECT attempt FROM interactions WHERE status = 'completed'") == 1)
    }

    @Test(arguments: Backend.allCases)
    func theThirdHostDeathFailsTheRunNamingThem(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        try Self.die(3, store: store)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        let progress = try EngineFixtures.run(Self.yaml, [], store: store, catalog: catalog)
        #expect(progress.runsFailed == 1)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") == 0, "not run a fourth time")
        let error = try #require(try store.rows("SELECT error FROM runs").first?.first?.text)
        #expect(error.hasPrefix("step a failed: 3 hosts died while running it (elsewhere-1:1:dead, elsewhere-2:2:dead, elsewhere-3:3:dead)"),
                "\(error)")
    }

    @Test func claimsFollowWhatTheHostFinishes() {
        let start = ContinuousClock.now
        var sizer = ClaimSizer(minimum: 8, maximum: 1000)
        #expect(sizer.target(at: start, finished: 0) == 8, "a few per thread before anything is measured")
        // 1,000 runs a second: a quarter second's worth.
        for tenth in 1...5 { _ = sizer.target(at: start + .milliseconds(100 * tenth), finished: 100 * tenth) }
        #expect(sizer.target(at: start + .milliseconds(600), finished: 600) == 250)
        // 10,000 a second: capped.
        #expect(sizer.target(at: start + .milliseconds(700), finished: 6000) == 1000)
        // Slowed to nothing for over a second: back to the minimum.
        _ = sizer.target(at: start + .milliseconds(2000), finished: 6000)
        #expect(sizer.target(at: start + .milliseconds(2900), finished: 6000) == 8)
        var fixed = ClaimSizer(minimum: 8, maximum: 40, fixed: true)
        #expect(fixed.target(at: start, finished: 0) == 40)
    }
}
