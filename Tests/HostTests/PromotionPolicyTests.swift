import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostRouting
@testable import WavehostStore

/// The promotion policy on controlled numbers, then on real challengers measured by the
/// engine: one better, one equal, one failing 20%.
@Suite struct PromotionPolicyTests {
    func record(_ id: Int64, _ role: VariantRecord.Role, finished: Int, completed: Int, p95: Double = 10) -> VariantRecord {
        VariantRecord(variantID: id, actor: "a", role: role, weight: 50, finished: finished, completed: completed,
                      p50Milliseconds: p95 / 2, p95Milliseconds: p95)
    }

    @Test func aLuckyStreakDoesNotPromoteAndClearEvidenceDoes() {
        let policy = PromotionPolicy()
        let champion = record(1, .champion, finished: 1000, completed: 900)
        // 10 of 10 is a perfect record, and no evidence.
        #expect(policy.decide(champion: champion, challenger: record(2, .challenger, finished: 10, completed: 10)).decision == .continue)
        // 91% against 90% over 1,000 each: not significant.
        let close = policy.decide(champion: champion, challenger: record(2, .challenger, finished: 1000, completed: 910))
        #expect(close.decision == .continue && (close.pValue ?? 0) > 0.05)
        #expect(policy.decide(champion: champion, challenger: record(2, .challenger, finished: 1000, completed: 960)).decision == .promote)
        #expect(policy.decide(champion: champion, challenger: record(2, .challenger, finished: 1000, completed: 800)).decision == .rollBack)
        // Better, but much slower: a person looks.
        #expect(policy.decide(champion: champion, challenger: record(2, .challenger, finished: 1000, completed: 960, p95: 50)).decision == .askAPerson)
        // Still no difference after many: a person looks.
        let many = record(1, .champion, finished: 3000, completed: 2700)
        #expect(policy.decide(champion: many, challenger: record(2, .challenger, finished: 3000, completed: 2710)).decision == .askAPerson)
    }

    /// A workflow whose one step has a champion and a challenger, run over 1,000 subjects.
    func measure(champion: String, challenger: String, files: [String]) throws -> PromotionPolicy.Verdict {
        try duel(champion: champion, challenger: challenger, files: files).verdict
    }

    func duel(champion: String, challenger: String, files: [String]) throws -> (verdict: PromotionPolicy.Verdict, store: Store) {
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: files, trusting: ["EchoC"] + files)
        try EngineFixtures.run("""
            workflow: duel
            steps:
              grade:
                input: subject
                variants:
                  - {actor: \(champion), weight: 50, isolation: inprocess}
                  - {actor: \(challenger), role: challenger, weight: 50, isolation: inprocess}
            """, EngineFixtures.subjects(1000), store: store, catalog: catalog)
        let records = try store.variantRecords(workflow: "duel", step: "grade")
        #expect(records.map(\.finished).reduce(0, +) == 1000)
        return (Self.policy.decide(champion: records[0], challenger: records[1]), store)
    }

    static let policy = {
        var policy = PromotionPolicy()
        policy.ambiguousAfter = 400
        return policy
    }()

    @Test func realChallengersArePromotedHeldOrRolledBack() throws {
        let failing = try TestPlugins.misbehaving("FAIL_PERCENT=20", "ACTOR_NAME=\"flaky\"", file: "libflaky.so")
        let fine = try TestPlugins.misbehaving("ACTOR_NAME=\"steady\"", file: "libsteady.so")
        #expect(try measure(champion: "echo-c", challenger: "flaky", files: [failing]).decision == .rollBack)
        #expect(try measure(champion: "flaky", challenger: "echo-c", files: [failing]).decision == .promote)
        let equal = try measure(champion: "echo-c", challenger: "steady", files: [fine])
        #expect(equal.decision == .askAPerson && equal.z == 0, "equal records: no evidence either way")
    }

    @Test func promoteAutoActsOnTheVerdictAndRecordsTheNumbers() throws {
        let failing = try TestPlugins.misbehaving("FAIL_PERCENT=20", "ACTOR_NAME=\"flaky\"", file: "libflaky.so")
        let fine = try TestPlugins.misbehaving("ACTOR_NAME=\"steady\"", file: "libsteady.so")

        let worse = try duel(champion: "echo-c", challenger: "flaky", files: [failing]).store
        #expect(try Promotion.run(store: worse, workflow: "duel", step: "grade", policy: Self.policy).map(\.action) == ["rolled back"])
        #expect(try worse.variants(workflow: "duel", step: "grade").map(\.weight) == [50, 0])

        let better = try duel(champion: "flaky", challenger: "echo-c", files: [failing]).store
        #expect(try Promotion.run(store: better, workflow: "duel", step: "grade", policy: Self.policy).map(\.action) == ["promoted"])
        let roles = try better.variants(workflow: "duel", step: "grade").map { "\($0.actor) \($0.role) \($0.weight)" }
        #expect(roles == ["flaky challenger 0", "echo-c champion 50"])
        let event = try #require(try better.rows("SELECT payload FROM events WHERE kind = 'promotion_decided'").first?.first?.text)
        let numbers = try JSON.parse(Array(event.utf8))
        #expect(numbers["decision"] == "promote" && numbers["z"]?.doubleValue ?? 0 > 1.96 && numbers["challenger"]?["finished"] != nil)

        let same = try duel(champion: "echo-c", challenger: "steady", files: [fine]).store
        #expect(try Promotion.run(store: same, workflow: "duel", step: "grade", policy: Self.policy).map(\.action) == ["review requested"])
        #expect(try same.openReviews(workflow: "duel").count == 1)
        #expect(try same.variants(workflow: "duel", step: "grade").map(\.weight) == [50, 50], "a person decides; nothing moved")
    }

    @Test func aGraderStepsScoresWeighInTheVerdict() throws {
        // Numbers: equal success, better quality promotes; better success with worse quality asks a person.
        let policy = PromotionPolicy()
        let champion = record(1, .champion, finished: 500, completed: 450)
        let low = (0..<500).map { Double(3 + $0 % 3) }, high = (0..<500).map { Double(4 + $0 % 3) }
        #expect(policy.decide(champion: champion, challenger: record(2, .challenger, finished: 500, completed: 450),
                              quality: (low, high)).decision == .promote)
        #expect(policy.decide(champion: champion, challenger: record(2, .challenger, finished: 500, completed: 490),
                              quality: (high, low)).decision == .askAPerson)

        // Real scores: a later step grades each variant's output (here, by its size, which
        // the challenger's longer wrap key raises by two bytes).
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        try EngineFixtures.run("""
            workflow: graded
            steps:
              draft:
                input: subject
                variants:
                  - {actor: echo-c, config: {wrap: champion}, weight: 50, isolation: inprocess}
                  - {actor: echo-c, config: {wrap: challenger}, role: challenger, weight: 50, isolation: inprocess}
              quality: {actor: echo-c, isolation: inprocess, after: [draft], input: draft}
            """, EngineFixtures.subjects(1000), store: store, catalog: catalog)
        let scores = try store.qualityScores(workflow: "graded", step: "draft", graderStep: "quality", field: ["bytes"])
        #expect(scores.values.map(\.count).reduce(0, +) == 1000)
        let applied = try Promotion.run(store: store, workflow: "graded", step: "draft", policy: policy, quality: ("quality", ["bytes"]))
        #expect(applied.map(\.action) == ["promoted"], "\(applied.map(\.verdict.reason))")
        #expect(applied.first?.verdict.reason.contains("quality") == true)
    }
}
