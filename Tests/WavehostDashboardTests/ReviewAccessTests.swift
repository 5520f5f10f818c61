import Foundation
import Testing
@testable import WavehostDashboard
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// Review decisions through `respond`: recorded as events with who and why, and only with
/// the token, from the dashboard's own origin.
@Suite struct ReviewAccessTests {
    @Test func aReviewAcceptedThroughTheFormIsAnEventAndResolved() throws {
        let fixture = try DashboardFixtures.populated()
        let store = fixture.store
        let id = try DashboardFixtures.newReview(store)
        let dashboard = DashboardFixtures.dashboard(store)

        // The page offers the form, with a token field while the viewer has no cookie.
        let page = dashboard.respond(DashboardFixtures.get("/reviews")).text
        #expect(page.contains("action=\"/reviews/\(id)/accept\"") && page.contains("formaction=\"/reviews/\(id)/reject\""))
        #expect(page.contains("name=\"token\""))
        #expect(!page.contains(DashboardFixtures.token), "the token is never written into a page")
        #expect(page.contains("a test review: &lt;b&gt;bold&lt;/b&gt;"), "the reason is text, not markup")

        let response = dashboard.respond(DashboardFixtures.post("/reviews/\(id)/accept", form: [
            "who": "Ada <ada@example.com>", "why": "the latency cost is worth the quality", "token": DashboardFixtures.token,
        ], headers: ["origin": "http://127.0.0.1:8080"]))
        #expect(response.status == 303, "\(response.text)")
        #expect(response.header("Location") == "/reviews?resolved=\(id)")

        let resolved = try #require(try store.reviewItems().first { $0.id == id })
        #expect(resolved.resolvedAt != nil)
        let events = try store.rows("SELECT kind, cause, payload FROM events WHERE kind LIKE 'review_%' ORDER BY id")
        let event = try #require(events.first { row in
            (try? JSON.parse(row[2].text ?? ""))?["review"]?.intValue == Int(id)
        })
        #expect(event[0].text == "review_accepted")
        #expect(event[1].text == "accepted by Ada <ada@example.com>: the latency cost is worth the quality")
        let payload = try JSON.parse(event[2].text ?? "")
        #expect(payload["by"]?.stringValue == "Ada <ada@example.com>" && payload["decision"]?.stringValue == "accepted")
        #expect(payload["why"]?.stringValue == "the latency cost is worth the quality")

        // The next page says so, escaped; a second decision changes nothing.
        let after = dashboard.respond(DashboardFixtures.get("/reviews", query: ["resolved": "\(id)"])).text
        #expect(after.contains("Review \(id) accepted by Ada &lt;ada@example.com&gt;."))
        let again = dashboard.respond(DashboardFixtures.post("/reviews/\(id)/reject", form: [
            "who": "Bob", "why": "changed my mind", "token": DashboardFixtures.token,
        ]))
        #expect(again.status == 409 && again.text.contains("already resolved"))
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'review_rejected' AND cause LIKE '%changed my mind%'") == 0)
    }

    @Test func theAPIRejectsWithABearerTokenAndAnswersJSON() throws {
        let fixture = try DashboardFixtures.populated()
        let id = try DashboardFixtures.newReview(fixture.store)
        let dashboard = DashboardFixtures.dashboard(fixture.store)
        let body = JSON.object([("who", "ci-bot"), ("why", "p95 doubled")]).bytes
        let response = dashboard.respond(DashboardRequest(method: "POST", path: "/api/reviews/\(id)/reject", query: [:], headers: [
            "host": "127.0.0.1:8080", "authorization": "Bearer \(DashboardFixtures.token)", "content-type": "application/json",
        ], body: body))
        #expect(response.status == 200, "\(response.text)")
        let json = try #require(response.json)
        #expect(json["decision"]?.stringValue == "rejected" && json["by"]?.stringValue == "ci-bot" && json["review"]?.intValue == Int(id))
        #expect(try fixture.store.count("SELECT COUNT(*) FROM events WHERE kind = 'review_rejected' AND cause = 'rejected by ci-bot: p95 doubled'") == 1)
        let listed = try #require(dashboard.respond(DashboardFixtures.get("/api/reviews")).json?["reviews"]?.arrayValue)
        let item = try #require(listed.first { $0["id"]?.intValue == Int(id) })
        #expect(item["resolved_at"]?.intValue != nil && item["decision"]?["by"]?.stringValue == "ci-bot")
    }

    @Test func withoutTheTokenOrFromAnotherOriginAChangeIs403() throws {
        let fixture = try DashboardFixtures.populated()
        let store = fixture.store
        let id = try DashboardFixtures.newReview(store)
        let dashboard = DashboardFixtures.dashboard(store)
        let form = ["who": "Mallory", "why": "because"]
        let cases: [(String, DashboardRequest, String)] = [
            ("no token", DashboardFixtures.post("/reviews/\(id)/accept", form: form), "a token is required"),
            ("a wrong token", DashboardFixtures.post("/reviews/\(id)/accept", form: form.merging(["token": "guess"]) { $1 }), "the token is wrong"),
            ("a wrong bearer", DashboardFixtures.post("/api/reviews/\(id)/accept", form: form, headers: ["authorization": "Bearer s3cret-tokem"]),
             "the token is wrong"),
            ("another origin with the right token",
             DashboardFixtures.post("/reviews/\(id)/accept", form: form.merging(["token": DashboardFixtures.token]) { $1 },
                                    headers: ["origin": "http://evil.example"]), "another origin"),
            ("another port of the same host, with the cookie",
             DashboardFixtures.post("/reviews/\(id)/accept", form: form,
                                    headers: ["origin": "http://127.0.0.1:9999", "cookie": "wavehost_token=\(DashboardFixtures.token)"]), "another origin"),
            ("an opaque origin", DashboardFixtures.post("/api/reviews/\(id)/accept", form: form,
                                                         headers: ["origin": "null", "authorization": "Bearer \(DashboardFixtures.token)"]), "another origin"),
            ("a cross-site fetch", DashboardFixtures.post("/reviews/\(id)/reject", form: form.merging(["token": DashboardFixtures.token]) { $1 },
                                                           headers: ["sec-fetch-site": "cross-site"]), "cross-site"),
        ]
        for (name, request, message) in cases {
            let response = dashboard.respond(request)
            #expect(response.status == 403, "\(name): \(response.status)")
            #expect(response.text.contains(message), "\(name): \(response.text.prefix(300))")
        }
        let noToken = Dashboard(store: store, token: "", backgroundIssues: { [] })
        let disabled = noToken.respond(DashboardFixtures.post("/reviews/\(id)/accept", form: form.merging(["token": ""]) { $1 }))
        #expect(disabled.status == 403 && disabled.text.contains("has no token"))
        #expect(try store.reviewItems().first { $0.id == id }?.resolvedAt == nil, "nothing was resolved")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE cause LIKE '%Mallory%'") == 0)

        // The same origin on the default port, with the cookie alone, is let through.
        let allowed = dashboard.respond(DashboardFixtures.post("/reviews/\(id)/accept", form: form, headers: [
            "host": "dash.example", "origin": "http://dash.example:80", "cookie": "theme=dark; wavehost_token=\(DashboardFixtures.token)",
        ]))
        #expect(allowed.status == 303, "\(allowed.text)")
        let missingWhy = dashboard.respond(DashboardFixtures.post("/reviews/\(try DashboardFixtures.newReview(store))/accept",
                                                                  form: ["who": "Ada", "token": DashboardFixtures.token]))
        #expect(missingWhy.status == 400 && missingWhy.text.contains("who"))
        #expect(dashboard.respond(DashboardFixtures.post("/reviews/999999/accept", form: ["who": "a", "why": "b", "token": DashboardFixtures.token])).status == 404)
    }

    @Test func aTokenInTheAddressBecomesAStrictHttpOnlyCookie() throws {
        let fixture = try DashboardFixtures.populated()
        let dashboard = DashboardFixtures.dashboard(fixture.store)
        let signIn = dashboard.respond(DashboardFixtures.get("/reviews", query: ["token": DashboardFixtures.token, "resolved": "3"]))
        #expect(signIn.status == 303)
        #expect(signIn.header("Location") == "/reviews?resolved=3", "the token leaves the address")
        let cookie = try #require(signIn.header("Set-Cookie"))
        #expect(cookie.hasPrefix("wavehost_token=\(DashboardFixtures.token);"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
        let wrong = dashboard.respond(DashboardFixtures.get("/", query: ["token": "nope"]))
        #expect(wrong.status == 403 && wrong.header("Set-Cookie") == nil)
        // With the cookie the form needs no token field, and the page still holds no token.
        let page = dashboard.respond(DashboardFixtures.get("/reviews", headers: ["cookie": "wavehost_token=\(DashboardFixtures.token)"])).text
        #expect(!page.contains("name=\"token\"") && !page.contains(DashboardFixtures.token))
    }

    @Test func originsCompareByHostAndPort() {
        #expect(Access.authority(ofOrigin: "http://Example.com:80") == "example.com")
        #expect(Access.authority(ofOrigin: "https://example.com:443") == "example.com")
        #expect(Access.authority(ofOrigin: "https://example.com:8443") == "example.com:8443")
        #expect(Access.authority(ofOrigin: "null") == nil)
        #expect(Access.same("abc", "abc") && !Access.same("abc", "abd") && !Access.same("abc", "abcd") && !Access.same("", "a"))
    }
}
