import Foundation
import Testing
@testable import WavehostEngine
import WavehostRouting
@testable import WavehostStore

/// A canary ramp under real traffic: it advances while the challenger holds, and rolls
/// back to 0% at once when failures are injected (a hot-reloaded build that fails half).
@Suite struct CanaryTests {
    @Test func aCanaryAdvancesThenRollsBackOnInjectedFailures() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let healthy = try TestPlugins.misbehaving("ACTOR_NAME=\"candidate\"", file: "libhealthy.so")
        let failing = try TestPlugins.misbehaving("FAIL_PERCENT=50", "ACTOR_NAME=\"candidate\"", file: "libfailing.so")
        let live = folder + "/libcandidate.so"
        try HotReloadTests.install(healthy, at: live)
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: [live], trusting: ["EchoC", live])
        catalog.registry.loader.trust.trust(try TestPlugins.sha256(failing))  // the build hot-reloaded in-process below
        let reloader = HotReloader(catalog: catalog, store: store)
        let yaml = """
            workflow: canary
            steps:
              grade:
                input: subject
                variants:
                  - {actor: echo-c, weight: 100, isolation: inprocess}
                  - {actor: candidate, role: challenger, weight: 0, isolation: inprocess}
            """
        var batch = 0
        func traffic(_ count: Int) throws {
            let subjects = (0..<count).map { Subject(key: "b\(batch)-\($0)", payload: ["n": .integer($0), "batch": .integer(batch)]) }
            batch += 1
            _ = try Engine(store: store, catalog: catalog, reloader: reloader).run(try EngineFixtures.workflow(yaml), source: yaml, subjects: subjects)
        }
        var policy = PromotionPolicy()
        policy.minimumSample = 50
        try traffic(10)  // registers the workflow and its variants
        let challenger = try #require(try store.variants(workflow: "canary", step: "grade").first { $0.role == .challenger })
        try Canary.start(store: store, workflow: "canary", step: "grade", variantID: challenger.id, schedule: [5, 10, 25, 50, 100])

        func share() throws -> Int { try store.variants(workflow: "canary", step: "grade").first { $0.id == challenger.id }!.weight }
        #expect(try share() == 5)
        try traffic(300)  // ~15 calls at 5%: too few to judge, the ramp holds
        #expect(try Canary.tick(store: store, workflow: "canary", step: "grade", policy: policy).first?.percent == 5)
        try traffic(2000)
        #expect(try Canary.tick(store: store, workflow: "canary", step: "grade", policy: policy).first?.percent == 10)
        try traffic(1500)
        #expect(try Canary.tick(store: store, workflow: "canary", step: "grade", policy: policy).first?.percent == 25)

        try HotReloadTests.install(failing, at: live)
        guard case .swapped = reloader.handle(path: live) else { Issue.record("the failing build was not swapped in"); return }
        try traffic(1000)
        let rolledBack = try #require(try Canary.tick(store: store, workflow: "canary", step: "grade", policy: policy).first)
        #expect(rolledBack.state == "rolled_back" && rolledBack.percent == 0)
        #expect(try share() == 0)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'variant_changed' AND cause LIKE 'canary rolled back at 25%%'") == 2)
        // Once rolled back, the challenger takes no more traffic.
        let before = try store.count("SELECT COUNT(*) FROM interactions WHERE variant_id = \(challenger.id)")
        try traffic(500)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE variant_id = \(challenger.id)") == before)
    }
}
