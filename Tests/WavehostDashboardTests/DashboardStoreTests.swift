import Foundation
import Testing
@testable import WavehostDashboard
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostPlugins
import WavehostRouting
@testable import WavehostStore

/// The dashboard's store queries (Store+Dashboard.swift) on both backends, after a real
/// run: they must agree with the queries `compare` and `status` use.
@Suite struct DashboardStoreTests {
    enum Backend: String, CaseIterable, Sendable { case sqlite, postgres }

    @Test(arguments: Backend.allCases)
    func bucketsLatenciesCanariesAndReviewsAgreeWithTheStore(_ backend: Backend) throws {
        let location = backend == .sqlite ? try DashboardFixtures.temporaryDirectory() + "/wavehost.db" : try PostgresServer.makeDatabase()
        let store = try Store(location: location)
        let folder = try DashboardFixtures.temporaryDirectory()
        let echo = try DashboardFixtures.product("EchoC")
        let catalog = ActorCatalog(registry: PluginRegistry(loader: PluginLoader(cache: PluginCache(directory: folder + "/cache"),
                                                                                 trust: PluginTrust([try DashboardFixtures.sha256(echo)]))))
        try catalog.add(echo)
        let definition = try WorkflowParser(file: "dash.yaml").parse(DashboardFixtures.workflow)
        _ = try Engine(store: store, catalog: catalog).run(definition, source: DashboardFixtures.workflow,
                                                           subjects: DashboardFixtures.subjects(0..<300, batch: 0))
        let challenger = try #require(try store.variants(workflow: "dash", step: "summary").first { $0.role == .challenger })
        try Canary.start(store: store, workflow: "dash", step: "summary", variantID: challenger.id, schedule: [5, 50, 100])

        let data = try StepComparison.load(store: store, workflow: "dash", step: "summary", quality: ("quality", ["bytes"]))
        let records = try store.variantRecords(workflow: "dash", step: "summary")
        #expect(records.count == 2 && data.variants.count == 2)
        for record in records {
            let buckets = data.buckets.filter { $0.variantID == record.variantID }
            #expect(buckets.reduce(0) { $0 + $1.finished } == record.finished, "\(backend): buckets sum to the record")
            #expect(buckets.reduce(0) { $0 + $1.completed } == record.completed)
            #expect(buckets.allSatisfy { $0.start >= data.bucketStart && ($0.start - data.bucketStart) % data.bucketWidth == 0 })
            #expect(data.latencies[record.variantID]?.count == record.completed, "every completed call's latency (under the limit)")
            #expect(data.quality?.scores[record.variantID]?.isEmpty == false)
        }
        #expect(Set(data.buckets.map { ($0.start - data.bucketStart) / data.bucketWidth }).allSatisfy { $0 <= StepComparison.bucketCount })
        let ramp = try #require(data.canaries.first)
        #expect((ramp.variantID, ramp.schedule, ramp.stage, ramp.state) == (challenger.id, [5, 50, 100], 0, "ramping"))
        #expect(try store.stepsAfter(workflow: "dash", step: "summary") == ["quality"])
        #expect(try store.stepsAfter(workflow: "dash", step: "quality") == [])

        try store.requestReview(workflow: "dash", step: "summary", reason: "ambiguous", evidence: ["z": 1])
        let review = try #require(try store.reviewItems().first)
        #expect(review.resolvedAt == nil && review.reason == "ambiguous")
        guard case .resolved = try store.resolveReview(review.id, accepted: false, by: "Ada", why: "too slow") else {
            Issue.record("\(backend): the review was not resolved")
            return
        }
        #expect(try store.resolveReview(review.id, accepted: true, by: "Bob", why: "again") == .alreadyResolved(at: try #require(try store.reviewItems().first?.resolvedAt)))
        #expect(try store.resolveReview(987_654, accepted: true, by: "Bob", why: "none") == .notFound)
        let decisions = try store.reviewDecisions()
        #expect(decisions.count == 1 && decisions[0].review == review.id && decisions[0].decision == "rejected" && decisions[0].by == "Ada")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'review_rejected'") == 1)
    }
}
