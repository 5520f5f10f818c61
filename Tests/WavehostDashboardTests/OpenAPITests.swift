import Foundation
import Testing
import WavehostDashboard
@testable import WavehostEngine
import WavehostJSON
import Yams

/// docs/api/openapi.yaml against what `respond` routes and answers.
@Suite struct OpenAPITests {
    static let specPath = DashboardFixtures.repositoryRoot + "/docs/api/openapi.yaml"

    static func spec() throws -> [String: Any] {
        let text = try String(contentsOfFile: specPath, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "\(specPath) is not a YAML mapping")
    }

    @Test func everyRouteIsDocumentedWithItsMethodAndNothingElseIs() throws {
        let spec = try Self.spec()
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: Any])
        for route in Dashboard.routes {
            let item = paths[route.path] as? [String: Any]
            #expect(item != nil, "\(route.path) is routed but not in \(Self.specPath)")
            #expect(item?[route.method.lowercased()] != nil, "\(route.method) \(route.path) is routed but not documented")
        }
        let routed = Set(Dashboard.routes.map { "\($0.method.lowercased()) \($0.path)" })
        for (path, item) in paths {
            for method in ((item as? [String: Any]) ?? [:]).keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                #expect(routed.contains("\(method) \(path)"), "\(method) \(path) is documented but not routed")
            }
        }
    }

    @Test func responsesCarryTheDocumentedTopLevelFields() throws {
        let fixture = try DashboardFixtures.populated()
        let dashboard = DashboardFixtures.dashboard(fixture.store, issues: [BackgroundIssue(time: Date(), task: "watcher", message: "x")])
        let id = try DashboardFixtures.newReview(fixture.store)
        let cases: [(DashboardRequest, String)] = [
            (DashboardFixtures.get("/api/status"), "Status"),
            (DashboardFixtures.get("/api/steps/dash/summary", query: ["quality": "quality.bytes"]), "Step"),
            (DashboardFixtures.get("/api/reviews"), "Reviews"),
            (DashboardRequest(method: "POST", path: "/api/reviews/\(id)/accept", query: [:],
                              headers: ["authorization": "Bearer \(DashboardFixtures.token)", "content-type": "application/json"],
                              body: JSON.object([("who", "ci"), ("why", "schema test")]).bytes), "Decision"),
            (DashboardFixtures.get("/api/steps/dash/absent"), "Error"),
        ]
        let schemas = try #require(((try Self.spec())["components"] as? [String: Any])?["schemas"] as? [String: Any])
        for (request, name) in cases {
            let response = dashboard.respond(request)
            #expect(response.contentType == "application/json")
            let json = try #require(try? JSON.parse(response.body), "\(request.path) did not answer JSON: \(response.text.prefix(200))")
            let keys = Set((json.objectValue ?? []).map(\.key))
            let schema = try #require(schemas[name] as? [String: Any], "no schema \(name)")
            let required = Set(schema["required"] as? [String] ?? [])
            let documented = Set((schema["properties"] as? [String: Any] ?? [:]).keys)
            #expect(required.isSubset(of: keys), "\(request.path) lacks \(required.subtracting(keys).sorted())")
            #expect(keys.isSubset(of: documented), "\(request.path) answers undocumented \(keys.subtracting(documented).sorted())")
        }
        // The step's data is the page's: two variants, one verdict, buckets, scores.
        let step = try #require(dashboard.respond(DashboardFixtures.get("/api/steps/dash/summary", query: ["quality": "quality.bytes"])).json)
        #expect(step["variants"]?.arrayValue?.count == 2 && step["verdicts"]?.arrayValue?.count == 1)
        #expect((step["success_over_time"]?["buckets"]?.arrayValue?.count ?? 0) >= 4)
        #expect(step["quality"]?["variants"]?.arrayValue?.count == 2)
        #expect(step["canaries"]?.arrayValue?.first?["variant"]?.intValue == Int(fixture.challengerID))
    }
}
