import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostRouting
@testable import WavehostStore

/// One verdict for every decision: the champion rule, and each branch of a canary's step on
/// the promotion policy's verdict (the engine-driven ramp is in CanaryTests).
@Suite struct CanaryDecisionTests {
    private let schedule = [5, 10, 25, 50, 100]

    private func verdict(_ decision: PromotionPolicy.Decision, measured: Bool = true) -> PromotionPolicy.Verdict {
        PromotionPolicy.Verdict(decision: decision, z: measured ? 0.5 : nil, pValue: measured ? 0.6 : nil, reason: "why")
    }

    @Test func aRampAdvancesWhileTheChallengerHoldsUp() {
        #expect(Canary.action(stage: 0, schedule: schedule, verdict: verdict(.continue)) == .advance(toStage: 1))
        #expect(Canary.action(stage: 1, schedule: schedule, verdict: verdict(.promote)) == .advance(toStage: 2))
        #expect(Canary.action(stage: 2, schedule: schedule, verdict: verdict(.continue)) == .advance(toStage: 3))
    }

    @Test func aShortSampleHolds() {
        #expect(Canary.action(stage: 1, schedule: schedule, verdict: verdict(.continue, measured: false)) == .hold("why"))
    }

    @Test func onlyAPromoteVerdictFinishesARamp() {
        guard case .hold(let why) = Canary.action(stage: 3, schedule: schedule, verdict: verdict(.continue)) else {
            Issue.record("an equal challenger at 50% must hold")
            return
        }
        #expect(why.contains("only a promote verdict finishes a ramp"))
        #expect(Canary.action(stage: 3, schedule: schedule, verdict: verdict(.promote)) == .complete)
        #expect(Canary.action(stage: 0, schedule: [50, 100], verdict: verdict(.promote)) == .complete)
    }

    @Test func aWorseChallengerRollsBackAtAnyStage() {
        for stage in 0..<4 { #expect(Canary.action(stage: stage, schedule: schedule, verdict: verdict(.rollBack)) == .rollBack) }
    }

    @Test func anAmbiguousVerdictHoldsForAPersonAndNeverAdvances() {
        for stage in 0..<4 { #expect(Canary.action(stage: stage, schedule: schedule, verdict: verdict(.askAPerson)) == .askAPerson) }
    }

    @Test func theChampionIsTheOneRoleHolderWithTheMostWeight() {
        func record(_ id: Int64, _ role: VariantRecord.Role, _ weight: Int) -> VariantRecord {
            VariantRecord(variantID: id, actor: "a", role: role, weight: weight, finished: 0, completed: 0, p50Milliseconds: nil, p95Milliseconds: nil)
        }
        let records = [record(1, .champion, 0), record(2, .challenger, 90), record(3, .champion, 10), record(4, .champion, 10)]
        #expect(PromotionPolicy.champion(of: records)?.variantID == 3, "most weight; the oldest of a tie")
        #expect(PromotionPolicy.champion(of: records, excluding: 3)?.variantID == 4)
        #expect(PromotionPolicy.champion(of: [record(2, .challenger, 100)]) == nil)
    }

    /// Through the store: a challenger no different after many calls each asks a person; the
    /// ramp holds at its share and one review item is opened, not one per tick.
    @Test func aHeldRampOpensOneReview() throws {
        let store = try EngineFixtures.store(.sqlite)
        let slow = try TestPlugins.misbehaving("ACTOR_NAME=\"slow\"", file: "libslow.so")
        let catalog = try EngineFixtures.catalog(["EchoC"], files: [slow], trusting: ["EchoC", slow])
        let yaml = """
            workflow: held
            steps:
              grade:
                input: subject
                variants:
                  - {actor: echo-c, weight: 100, isolation: inprocess}
                  - {actor: slow, role: challenger, weight: 0, isolation: inprocess}
            """
        try EngineFixtures.run(yaml, EngineFixtures.subjects(1), store: store, catalog: catalog)
        let challenger = try #require(try store.variants(workflow: "held", step: "grade").first { $0.role == .challenger })
        try Canary.start(store: store, workflow: "held", step: "grade", variantID: challenger.id, schedule: [50, 100])
        try EngineFixtures.run(yaml, (0..<120).map { Subject(key: "k\($0)", payload: ["n": .integer($0)]) }, store: store, catalog: catalog)
        var policy = PromotionPolicy()
        policy.minimumSample = 30
        policy.ambiguousAfter = 40  // equal success after 40 each: a person decides
        for _ in 0..<3 {
            let status = try #require(try Canary.tick(store: store, workflow: "held", step: "grade", policy: policy).first)
            #expect(status.state == "ramping" && status.percent == 50 && !status.changed, "\(status)")
            #expect(status.note.hasPrefix("held for a person to decide"), "\(status.note)")
        }
        let reviews = try store.openReviews(workflow: "held")
        #expect(reviews.count == 1 && reviews.first?.reason.hasPrefix("canary of variant \(challenger.id) held at 50%:") == true, "\(reviews)")
        #expect(throws: RoutingError.self) {
            try Canary.start(store: store, workflow: "held", step: "grade", variantID: challenger.id, schedule: [5, 10])
        }
        let champion = try #require(try store.variants(workflow: "held", step: "grade").first { $0.role == .champion })
        let refused = #expect(throws: RoutingError.self) {
            try Canary.start(store: store, workflow: "held", step: "grade", variantID: champion.id)
        }
        #expect(refused?.code == .notAChallenger && refused?.description == "variant \(champion.id) is the champion; a canary ramps a challenger")
        #expect(throws: RoutingError(.unknownVariant, "step grade of held has no variant 9999 (wavehost variants list)")) {
            try Canary.start(store: store, workflow: "held", step: "grade", variantID: 9999)
        }
    }
}
