import Foundation
@testable import Host
import Testing

/// The promotion policy on controlled numbers, then on real challengers measured by the
/// engine: one better, one equal, one failing 20%.
@Suite struct PromotionPolicyTests {
    func record(_ id: Int64, _ role: String, finished: Int, completed: Int, p95: Double = 10) -> VariantRecord {
        VariantRecord(variantID: id, actor: "a", role: role, weight: 50, finished: finished, completed: completed,
                      p50Milliseconds: p95 / 2, p95Milliseconds: p95)
    }

    @Test func aLuckyStreakDoesNotPromoteAndClearEvidenceDoes() {
        let policy = PromotionPolicy()
        let champion = record(1, "champion", finished: 1000, completed: 900)
        // 10 of 10 is a perfect record, and no evidence.
        #expect(policy.decide(champion: champion, challenger: record(2, "challenger", finished: 10, completed: 10)).decision == .continue)
        // 91% against 90% over 1,000 each: not significant.
        let close = policy.decide(champion: champion, challenger: record(2, "challenger", finished: 1000, completed: 910))
        #expect(close.decision == .continue && (close.pValue ?? 0) > 0.05)
        #expect(policy.decide(champion: champion, challenger: record(2, "challenger", finished: 1000, completed: 960)).decision == .promote)
        #expect(policy.decide(champion: champion, challenger: record(2, "challenger", finished: 1000, completed: 800)).decision == .rollBack)
        // Better, but much slower: a person looks.
        #expect(policy.decide(champion: champion, challenger: record(2, "challenger", finished: 1000, completed: 960, p95: 50)).decision == .askAPerson)
        // Still no difference after many: a person looks.
        let many = record(1, "champion", finished: 3000, completed: 2700)
        #expect(policy.decide(champion: many, challenger: record(2, "challenger", finished: 3000, completed: 2710)).decision == .askAPerson)
    }

    /// A workflow whose one step has a champion and a challenger, run over 1,000 subjects.
    func measure(champion: String, challenger: String, files: [String]) throws -> PromotionPolicy.Verdict {
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: files)
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
        var policy = PromotionPolicy()
        policy.ambiguousAfter = 400
        return policy.decide(champion: records[0], challenger: records[1])
    }

    @Test func realChallengersArePromotedHeldOrRolledBack() throws {
        let failing = try TestPlugins.misbehaving("FAIL_PERCENT=20", "ACTOR_NAME=\"flaky\"", file: "libflaky.so")
        let fine = try TestPlugins.misbehaving("ACTOR_NAME=\"steady\"", file: "libsteady.so")
        #expect(try measure(champion: "echo-c", challenger: "flaky", files: [failing]).decision == .rollBack)
        #expect(try measure(champion: "flaky", challenger: "echo-c", files: [failing]).decision == .promote)
        let equal = try measure(champion: "echo-c", challenger: "steady", files: [fine])
        #expect(equal.decision == .askAPerson && equal.z == 0, "equal records: no evidence either way")
    }
}
