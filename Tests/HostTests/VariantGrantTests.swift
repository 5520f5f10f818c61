import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// Each variant carries its own grants, as it carries its own limits (issue 13): two file
/// variants with the same actor and config no longer share the first one's.
@Suite(.serialized) struct VariantGrantTests {
    private static func yaml(port: Int) -> String {
        """
        workflow: granted
        steps:
          fetch:
            variants:
              - {actor: http-fetcher, config: {url: "http://127.0.0.1:\(port)/pages/page-5.json", items: data}, weight: 50,
                 network: {allow: ["127.0.0.1:\(port)"], schemes: [http], writes_in: [prod]}, environment: [WAVEHOST_GRANT_TEST]}
              - {actor: http-fetcher, config: {url: "http://127.0.0.1:\(port)/pages/page-5.json", items: data}, weight: 50, role: challenger}
        """
    }

    @Test(arguments: Backend.allCases)
    func eachVariantKeepsItsOwnGrantsThroughTheStore(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let yaml = Self.yaml(port: 8080)
        _ = try store.registerWorkflow(try EngineFixtures.workflow(yaml), source: yaml)
        let variants = try store.variants(workflow: "granted", step: "fetch")
        #expect(variants.map(\.grants) == [[
            "network": ["allow": ["127.0.0.1:8080"], "schemes": ["http"], "writes_in": ["prod"]],
            "environment": ["WAVEHOST_GRANT_TEST"],
        ], nil])
        let back = try WorkflowDefinition.Grants(json: try #require(variants[0].grants))
        #expect(back.network == (try EngineFixtures.workflow(yaml)).steps[0].variants[0].grants.network)
        #expect(back.environment == ["WAVEHOST_GRANT_TEST"] && back.read.isEmpty)
        // Registering the same text again changes nothing.
        _ = try store.registerWorkflow(try EngineFixtures.workflow(yaml), source: yaml)
        #expect(try store.variants(workflow: "granted", step: "fetch") == variants)
    }

    /// Grants are the file's word only: a variant added later (`wavehost variants add`) has none,
    /// whatever its definition carried.
    @Test(arguments: Backend.allCases)
    func aVariantAddedLaterHasNoGrants(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let yaml = Self.yaml(port: 8080)
        let workflow = try EngineFixtures.workflow(yaml)
        _ = try store.registerWorkflow(workflow, source: yaml)
        let id = try store.addVariant(workflow: "granted", step: "fetch", WorkflowRecord.Variant(workflow.steps[0].variants[0]))
        #expect(try store.variants(workflow: "granted", step: "fetch").first { $0.id == id }?.grants == nil)
    }

    /// Through the engine and the sandbox: the granted variant's calls reach the server, the
    /// other's are refused the network, whatever the first was granted.
    @Test func twoVariantsWithTheSameActorAndConfigEachGetTheirOwnGrants() throws {
        let server = try HTTPServer(pages: TestPlugins.repositoryRoot + "/samples/api")
        defer { server.stop() }
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["HTTPFetcher"])
        try EngineFixtures.run(Self.yaml(port: server.port), EngineFixtures.subjects(40), store: store, catalog: catalog)
        let ids = try store.variants(workflow: "granted", step: "fetch").map(\.id)
        let rows = try store.rows("SELECT variant_id, status, error FROM interactions ORDER BY id")
        #expect(rows.count >= 40, "one interaction per subject at least")
        let granted = rows.filter { $0[0].integer == ids[0] }
        let ungranted = rows.filter { $0[0].integer == ids[1] }
        #expect(!granted.isEmpty && !ungranted.isEmpty, "both variants met subjects")
        #expect(granted.allSatisfy { $0[1].text == "completed" }, "\(granted)")
        #expect(ungranted.allSatisfy { $0[1].text == "failed" && $0[2].text?.contains("grants no network") == true }, "\(ungranted)")
    }
}
