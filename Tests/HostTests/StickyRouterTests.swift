import Testing
@testable import WavehostEngine
@testable import WavehostRouting

/// Sticky weighted choice: stable per subject, true to the weights, minimal movement.
@Suite struct StickyRouterTests {
    static let subjects = (0..<100_000).map { "subject-\($0)" }

    func shares(_ router: StickyRouter) -> [Int64: Double] {
        var counts: [Int64: Int] = [:]
        for subject in Self.subjects { counts[router.choose(subject).id, default: 0] += 1 }
        return counts.mapValues { Double($0) / Double(Self.subjects.count) }
    }

    @Test(arguments: [[90, 10], [50, 50], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]])
    func aHundredThousandSubjectsFollowTheWeightsWithinOnePercent(_ weights: [Int]) {
        let variants = weights.enumerated().map { StickyRouter.Variant(id: Int64($0.offset + 1), weight: $0.element) }
        let router = StickyRouter(step: "grade", salt: "exp-1", variants: variants)
        let total = Double(weights.reduce(0, +))
        let shares = shares(router)
        for variant in variants {
            let expected = Double(variant.weight) / total
            #expect(abs((shares[variant.id] ?? 0) - expected) < 0.01, "variant \(variant.id): \(shares[variant.id] ?? 0) vs \(expected)")
        }
        // Sticky: asked again, every subject meets the same variant.
        #expect(Self.subjects.prefix(1000).allSatisfy { router.choose($0) == router.choose($0) })
        #expect(StickyRouter(step: "grade", salt: "exp-1", variants: variants).choose("subject-7") == router.choose("subject-7"))
    }

    @Test func changingAWeightMovesOnlyTheSubjectsThatMust() {
        let before = StickyRouter(step: "grade", variants: [.init(id: 1, weight: 90), .init(id: 2, weight: 10)])
        let after = StickyRouter(step: "grade", variants: [.init(id: 1, weight: 75), .init(id: 2, weight: 25)])
        var moved = 0
        for subject in Self.subjects where before.choose(subject).id != after.choose(subject).id {
            moved += 1
            #expect(after.choose(subject).id == 2, "a subject only moves to the variant that gained weight")
        }
        // 15% of the traffic must move; no more than that (and the slots' granularity).
        #expect(abs(Double(moved) / Double(Self.subjects.count) - 0.15) < 0.01, "\(moved) moved")
        // A zero weight takes no traffic; a new salt reshuffles subjects.
        let off = StickyRouter(step: "grade", variants: [.init(id: 1, weight: 1), .init(id: 2, weight: 0)])
        #expect(Self.subjects.prefix(1000).allSatisfy { off.choose($0).id == 1 })
        let resalted = StickyRouter(step: "grade", salt: "exp-2", variants: [.init(id: 1, weight: 90), .init(id: 2, weight: 10)])
        #expect(Self.subjects.prefix(1000).contains { resalted.choose($0) != before.choose($0) })
    }
}
