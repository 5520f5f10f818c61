import ActorABI
import ActorRuntime
import Crypto
import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostPlugins
@testable import WavehostSandbox
@testable import WavehostStore

/// The host's HTTP service against a real loopback server: what a grant lets through, what
/// it refuses and why, the limits, secrets, and the audit record of every call. The
/// actors are the bundled http-fetcher, in a sandbox without network.
@Suite(.serialized) struct HostHTTPServiceTests {
    private func pages() throws -> String {
        let folder = try TestPlugins.temporaryDirectory()
        try #"{"data":[{"id":1}],"paging":{"next":null}}"#.write(toFile: folder + "/page-1.json", atomically: true, encoding: .utf8)
        return folder
    }

    private func http(_ allow: [String], schemes: [String] = ["http"], secrets: Set<String> = [],
                      secretValue: @escaping @Sendable (String) -> String? = HostHTTP.environment) throws -> HostHTTP {
        HostHTTP(actor: "test-actor", grant: try NetworkGrant(allow: allow, schemes: schemes), secrets: secrets, secretValue: secretValue)
    }

    /// The paths the server was asked for, in order (the /requests page itself left out).
    private func served(_ server: HTTPServer) throws -> [JSON] {
        let response = try TestPlugins.loopbackHTTP("test").perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/requests"))
        return try JSON.parse(response.body)["data"]?.arrayValue ?? []
    }

    private func sandboxedFetcher(_ config: JSON, grant: NetworkGrant?, limits: SandboxLimits = SandboxLimits()) throws -> WorkerPool {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.networkGrant = grant
        configuration.limits = limits
        return WorkerPool(plugin: try TestPlugins.loader().load(try TestPlugins.product("HTTPFetcher")), config: config.bytes,
                          configuration: configuration)
    }

    @Test func refusesHostsSchemesPortsAndLoopbackNamesTheGrantDoesNotCover() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let port = server.port
        func refusal(_ service: HostHTTP, _ url: String) -> String? {
            let response = service.perform(HostHTTPRequest(method: "GET", url: url))
            return response.status == WH_ERR_FAILED ? response.error : nil
        }
        let page = "http://127.0.0.1:\(port)/pages/page-1.json"
        let (_, records) = try HostCallLog.collecting(for: .prod) { () throws in
            #expect(try refusal(http(["api.example.com"]), page)?
                .contains("host 127.0.0.1 is not in the variant's network grant (allow: api.example.com)") == true)
            #expect(try refusal(http(["127.0.0.1"], schemes: ["https"]), page)?
                .contains("scheme http is not in the variant's network grant (schemes: https)") == true)
            #expect(try refusal(http(["127.0.0.1:1"]), page)?.contains("port \(port) of host 127.0.0.1 is not in") == true)
            #expect(try refusal(http(["*.127.0.0.1"]), page)?.contains("is not in the variant's network grant") == true)
            // A name that leads to loopback is refused: only the address itself grants it.
            let byName = try refusal(http(["localhost"]), "http://localhost:\(port)/pages/page-1.json")
            #expect(byName?.contains("host localhost resolves to") == true && byName?.contains("(loopback)") == true, "\(byName ?? "allowed")")
            #expect(try refusal(http(["localhost", "127.0.0.1"]), "gopher://localhost:\(port)/x")?.contains("only http and https") == true)
            #expect(try refusal(http(["127.0.0.1"]), "http://user:pw@127.0.0.1:\(port)/")?.contains("credentials in a URL") == true)
            let granted = try http(["127.0.0.1"]).perform(HostHTTPRequest(method: "GET", url: page))
            #expect(granted.status == WH_OK && granted.httpStatus == 200)
            #expect(try JSON.parse(granted.body)["data"] == [["id": 1]])
            #expect(granted.headers.contains { $0.name == "content-type" && $0.value == "application/json" })
        }
        #expect(try served(server).map { $0["path"] } == ["/pages/page-1.json"], "no refused request reached the server")
        #expect(records.count == 8, "every call is recorded, refused ones too")
        #expect(records.filter { $0.status == 0 }.allSatisfy { $0.error != nil })
        let last = try #require(records.last)
        #expect(last.method == "GET" && last.host == "127.0.0.1:\(port)" && last.path == "/pages/page-1.json" && last.status == 200)
        let body = Array(#"{"data":[{"id":1}],"paging":{"next":null}}"#.utf8)
        #expect(last.bytesIn == body.count && last.bytesOut == 0)
        #expect(last.requestSHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(last.responseSHA256 == SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined())
    }

    @Test func aRedirectComesBackUnfollowedAndTheFetcherCannotLeaveTheGrantByOne() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        let redirect = try http(["127.0.0.1"]).perform(HostHTTPRequest(method: "GET", url: "\(base)/redirect?to=http://10.0.0.5/x"))
        #expect(redirect.status == WH_OK && redirect.httpStatus == 302)
        #expect(redirect.headers.first { $0.name == "location" }?.value == "http://10.0.0.5/x")
        // The fetcher's own policy lets it follow to localhost; the host's grant does not.
        let pool = try sandboxedFetcher(["url": .string("\(base)/redirect?to=http://localhost:\(server.port)/pages/page-1.json"),
                                         "allowed_origins": .array([.string("http://localhost:\(server.port)")])],
                                        grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]))
        #expect {
            try pool.invoke(Array("{}".utf8), timeout: .seconds(10))
        } throws: { error in
            (error as? SandboxFailure)?.message.contains("host localhost is not in the variant's network grant (allow: 127.0.0.1)") == true
        }
        #expect(try served(server).count == 2, "the redirect was asked for twice, its target never")
    }

    @Test func aResponseOverTheLimitFailsNamingTheLimit() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        var limits = SandboxLimits()
        limits.httpResponseBytes = 1000
        let pool = try sandboxedFetcher(["url": .string("http://127.0.0.1:\(server.port)/big?bytes=5000")],
                                        grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]), limits: limits)
        #expect {
            try pool.invoke(Array("{}".utf8), timeout: .seconds(10))
        } throws: { error in
            guard let failure = error as? SandboxFailure else { return false }
            return failure.code == .actorFailed(.failed) && failure.message.contains("larger than the limit of 1000 bytes")
        }
        // Under the limit, the same service answers.
        let small = try TestPlugins.loopbackHTTP("t", responseLimit: 1000)
            .perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/big?bytes=999"))
        #expect(small.status == WH_OK && small.body.count == 999)
    }

    /// A hostile server sends headers without end: libcurl stops reading at its limit, and
    /// the actor is told so, as a failure (asking again would meet the same flood). Under the
    /// limit every header arrives, and either way the call is recorded.
    @Test func aServerThatFloodsHeadersIsCutAtLibcurlsLimit() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let pool = try sandboxedFetcher(["url": .string("http://127.0.0.1:\(server.port)/headers?count=20000")],
                                        grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]))
        #expect {
            try pool.invoke(Array("{}".utf8), timeout: .seconds(10))
        } throws: { error in
            guard let failure = error as? SandboxFailure else { return false }
            return failure.code == .actorFailed(.failed) && failure.message.contains("headers are larger than libcurl's limit of 300 KiB")
        }
        let service = try TestPlugins.loopbackHTTP("t")
        let (flooded, floodRecords) = HostCallLog.collecting(for: .prod) {
            service.perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/headers?count=20000"))
        }
        #expect(flooded.status == WH_ERR_FAILED && floodRecords.count == 1 && floodRecords[0].error?.contains("300 KiB") == true)
        let (many, records) = HostCallLog.collecting(for: .prod) {
            service.perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/headers?count=1000"))
        }
        #expect(many.status == WH_OK && many.headers.filter { $0.name.hasPrefix("x-flood-") }.count == 1000)
        #expect(records.count == 1 && records[0].status == 200)
    }

    /// A reply that is not HTTP fails with curl's own account of it: its code alone would say
    /// "Unsupported protocol", which points at the request, not at the server.
    @Test func aReplyThatIsNotHTTPFailsSayingWhatCurlSaw() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let response = try TestPlugins.loopbackHTTP("t").perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/not-http"))
        #expect(response.status == WH_ERR_FAILED)
        #expect(response.error?.contains("HTTP/0.9") == true, "\(response.error ?? "")")
    }

    /// The server sleeps 3 s; the call's deadline is 1 s. The host ends the request inside
    /// the deadline, so the actor answers (unavailable: retryable) and its worker lives on.
    @Test func aServerThatDoesNotAnswerEndsInsideTheInteractionsDeadline() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let pool = try sandboxedFetcher(["url": .string("http://127.0.0.1:\(server.port)/slow"), "timeout_ms": 60_000],
                                        grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]))
        #expect {
            try pool.invoke(Array("{}".utf8), timeout: .seconds(1))
        } throws: { error in
            guard let failure = error as? SandboxFailure else { return false }
            return failure.code == .actorFailed(.unavailable) && failure.message.contains("timed out after")
        }
        #expect(pool.statistics.retired == 0, "the worker was not killed: the request ended first")
    }

    @Test func aSecretIsSubstitutedOnlyWhenTheConfigReferencesIt() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        let request = HostHTTPRequest(method: "GET", url: url, headers: [("X-Key", "k={{secret:API_KEY}}")])
        let unreferenced = try http(["127.0.0.1"], secretValue: { _ in "s3cret" }).perform(request)
        #expect(unreferenced.error?.contains("uses secret API_KEY, which the variant's config does not reference") == true)
        let unset = try http(["127.0.0.1"], secrets: ["API_KEY"], secretValue: { _ in nil }).perform(request)
        #expect(unset.error?.contains("secret API_KEY (for header X-Key) is not set") == true)
        let injected = try http(["127.0.0.1"], secrets: ["API_KEY"], secretValue: { _ in "s3cret" })
            .perform(HostHTTPRequest(method: "GET", url: url, headers: [("X-Key", "a\r\nHost: evil")]))
        #expect(injected.error?.contains("line break") == true)
        let sent = try http(["127.0.0.1"], secrets: ["API_KEY"], secretValue: { $0 == "API_KEY" ? "s3cret" : nil }).perform(request)
        #expect(sent.status == WH_OK)
        #expect(try served(server).last?["headers"]?["x-key"] == "k=s3cret")
        let posted = try TestPlugins.loopbackHTTP("t").perform(HostHTTPRequest(method: "POST", url: url, body: Array(#"{"a":1}"#.utf8)))
        #expect(posted.status == WH_OK && posted.httpStatus == 201)
        #expect(try served(server).last?["body"] == #"{"a":1}"#)
        #expect(HostHTTP.secretNames(in: ["headers": ["A": ["secret": "ONE"]], "list": [["secret": "TWO"]], "secret": "NOT"]) == ["ONE", "TWO"])
    }

    /// Shadow variants make only GET and HEAD requests unless the grant's `writes_in` lists
    /// shadow; test runs may be held to the same by leaving test out of it.
    @Test func writesOutsideGoOnlyFromTheRunsTheGrantLists() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        let post = HostHTTPRequest(method: "POST", url: url, body: Array("{}".utf8))
        let get = HostHTTPRequest(method: "GET", url: url)
        func answer(_ writesIn: Set<NetworkGrant.Run>, _ run: NetworkGrant.Run, _ request: HostHTTPRequest) throws -> HostHTTPResponse {
            var grant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
            grant.writesIn = writesIn
            let service = HostHTTP(actor: "t", grant: grant)
            return HostCallLog.collecting(for: run) { service.perform(request) }.0
        }
        #expect(try answer([.prod, .test], .shadow, post).error?
            .contains("a shadow variant makes no POST request: only GET and HEAD, which change nothing outside (list shadow in the grant's writes_in") == true)
        #expect(try answer([.prod, .test], .shadow, get).httpStatus == 200)
        #expect(try answer([.prod, .test, .shadow], .shadow, post).httpStatus == 201)
        #expect(try answer([.prod], .test, post).error?.contains("a test run makes no POST request") == true)
        #expect(try answer([.prod], .prod, post).httpStatus == 201)
        #expect(try served(server).map { $0["method"]?.stringValue ?? "GET" } == ["GET", "POST", "POST"], "no refused request reached the server")

        let parsed = try WorkflowParser(file: "w.yaml").parse("""
            workflow: w
            steps:
              grade:
                actor: llm-grader
                network: {allow: ["127.0.0.1"], schemes: [http], writes_in: [prod, shadow]}
            """)
        #expect(parsed.steps[0].variants[0].grants.network?.writesIn == [.prod, .shadow])
        #expect(throws: WorkflowError.self) {
            try WorkflowParser(file: "w.yaml").parse("workflow: w\nsteps:\n  a:\n    actor: x\n    network: {allow: [h], writes_in: [staging]}\n")
        }
    }

    /// One service reuses its curl handle (and its connection) from request to request
    /// without resetting it: nothing of one request, its method, body or headers, reaches the next.
    @Test func nothingOfARequestCarriesOverToTheNextOnTheSameHandle() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        var grant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
        grant.writesIn = [.prod]
        let service = HostHTTP(actor: "t", grant: grant)
        let sequence = [
            HostHTTPRequest(method: "POST", url: url, headers: [("X-Once", "post")], body: Array(#"{"a":1}"#.utf8)),
            HostHTTPRequest(method: "GET", url: url),
            HostHTTPRequest(method: "HEAD", url: url),
            HostHTTPRequest(method: "GET", url: url),
            HostHTTPRequest(method: "DELETE", url: url, body: Array("gone".utf8)),
            HostHTTPRequest(method: "GET", url: url, headers: [("X-Once", "get")]),
            HostHTTPRequest(method: "GET", url: url),
        ]
        let statuses = sequence.map { request in HostCallLog.collecting(for: .prod) { service.perform(request) }.0.httpStatus }
        #expect(statuses == [201, 200, 200, 200, 200, 200, 200])
        let seen = try served(server)
        #expect(seen.map { $0["method"]?.stringValue ?? "GET" } == ["POST", "GET", "HEAD", "GET", "DELETE", "GET", "GET"])
        #expect(seen.map { $0["body"]?.stringValue ?? "" } == [#"{"a":1}"#, "", "", "", "gone", "", ""])
        #expect(seen.map { $0["headers"]?["x-once"]?.stringValue ?? "-" } == ["post", "-", "-", "-", "-", "get", "-"])
        // A GET carries no body, so no length or type of one.
        for (index, request) in seen.enumerated() where (request["method"]?.stringValue ?? "GET") == "GET" {
            #expect(request["headers"]?["content-length"] == nil && request["headers"]?["content-type"] == nil, "request \(index): \(request)")
        }
    }

    /// A handle keeps the parsed URL it was last given: requests to URLs in turn each go
    /// to their own, a name's as an address's.
    @Test func requestsToURLsInTurnEachGoWhereTheirOwnURLSays() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let service = try http(["127.0.0.1", "localhost"])
        let paths = ["/link?next=1", "/link?next=2", "/link?next=2", "/pages/page-1.json", "/link?next=1"]
        for (index, path) in paths.enumerated() {
            let host = index == 3 ? "localhost" : "127.0.0.1"
            let response = HostCallLog.collecting(for: .prod) {
                service.perform(HostHTTPRequest(method: "GET", url: "http://\(host):\(server.port)\(path)"))
            }.0
            #expect(response.httpStatus == 200, "\(path): \(response.error ?? "")")
        }
        #expect(try served(server).map { $0["path"]?.stringValue } == paths)
    }

    /// A request that names no User-Agent goes with the host's; one that names it, in any
    /// case, goes with its own alone.
    @Test func aRequestWithoutAUserAgentGoesWithTheHostsAndOneWithItKeepsItsOwn() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        let service = try http(["127.0.0.1"])
        for headers in [[], [("user-agent", "probe/2")], [("USER-AGENT", "probe/3"), ("X-Other", "1")], [("X-Other", "2")]] {
            let response = HostCallLog.collecting(for: .prod) { service.perform(HostHTTPRequest(method: "GET", url: url, headers: headers)) }.0
            #expect(response.httpStatus == 200, "\(response.error ?? "")")
        }
        let agents = try served(server).map { $0["headers"]?["user-agent"]?.stringValue ?? "-" }
        #expect(agents == ["wavehost/1", "probe/2", "probe/3", "wavehost/1"])
    }

    /// Through the engine: a shadow model variant's POST is refused (its interactions fail,
    /// saying how to allow it) while the champion's goes out; with `writes_in: [prod, shadow]` it goes.
    @Test func theEngineHoldsAShadowVariantToGetAndHeadUnlessTheGrantLetsItWrite() throws {
        let server = try FixtureServer("chat_server.py") { [$0] }
        defer { server.stop() }
        for writesIn in ["", ", writes_in: [prod, shadow]"] {
            let store = try EngineFixtures.store(.sqlite)
            let grader = "actor: llm-grader, config: {endpoint: \"http://127.0.0.1:\(server.port)/echo/v1\", prompt: \"{{subject.n}}\"}, "
                + "network: {allow: [\"127.0.0.1\"], schemes: [http]\(writesIn)}"
            let progress = try EngineFixtures.run("""
                workflow: shadow-writes
                steps:
                  grade:
                    variants:
                      - {\(grader)}
                      - {\(grader), role: challenger, mode: shadow}
                """, EngineFixtures.subjects(2), store: store, catalog: try EngineFixtures.catalog(["LLMGrader"]))
            #expect(progress.runsCompleted == 2)
            let shadows = try store.rows("SELECT status, error FROM interactions WHERE parent_id IS NOT NULL ORDER BY id")
            #expect(shadows.count == 2)
            for row in shadows {
                if writesIn.isEmpty {
                    #expect(row[1].text?.contains("a shadow variant makes no POST request") == true, "\(row)")
                } else {
                    #expect(row[0].text == "completed", "\(row)")
                }
            }
            let live = try store.rows("SELECT status FROM interactions WHERE parent_id IS NULL").map { $0[0].text }
            #expect(live == ["completed", "completed"])
        }
    }

    /// An in-process actor may ask from a thread of its own: the request belongs to the
    /// call under way; once no call is, an engine variant's service refuses it.
    @Test func aRequestFromAnInProcessActorsOwnThreadIsRecordedWithItsCall() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        let service = HostHTTP(actor: "t", grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]), interactionsOnly: true)
        let (_, records) = HostCallLog.collecting(for: .prod) {
            HostCallLog.attending(service, deadline: monotonicNanoseconds() + 5_000_000_000) {
                let done = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    #expect(service.perform(HostHTTPRequest(method: "GET", url: url)).httpStatus == 200)
                    done.signal()
                }
                done.wait()
            }
        }
        #expect(records.map(\.path) == ["/pages/page-1.json"])
        let after = service.perform(HostHTTPRequest(method: "GET", url: url))
        #expect(after.error?.contains("no interaction of actor t is under way") == true)
    }

    /// Through the engine: a sandboxed fetcher with a secret header walks two pages; the
    /// server sees the secret, the store never does, and each request is an event.
    @Test func theEngineRecordsEveryCallAndTheSecretReachesOnlyTheServer() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try #"{"data":[{"id":1}],"paging":{"next":"page-2.json"}}"#.write(toFile: folder + "/page-1.json", atomically: true, encoding: .utf8)
        try #"{"data":[{"id":2}],"paging":{"next":null}}"#.write(toFile: folder + "/page-2.json", atomically: true, encoding: .utf8)
        let server = try HTTPServer(pages: folder)
        defer { server.stop() }
        let secret = "sk-wavehost-\(UInt64.random(in: 1...UInt64.max))"
        setenv("WAVEHOST_TEST_FETCH_KEY", secret, 1)
        defer { unsetenv("WAVEHOST_TEST_FETCH_KEY") }
        let store = try EngineFixtures.store(.sqlite)
        let progress = try EngineFixtures.run("""
            workflow: fetch-with-key
            subjects: {single: api}
            writable_tables: [staging]
            steps:
              fetch:
                actor: http-fetcher
                network: {allow: ["127.0.0.1:\(server.port)"], schemes: [http]}
                config: {url: "http://127.0.0.1:\(server.port)/pages/page-1.json", headers: {X-Api-Key: {secret: WAVEHOST_TEST_FETCH_KEY}}}
                paging: next
                save: {table: staging, rows: items}
            """, [Subject(key: "api", payload: [:])], store: store, catalog: try EngineFixtures.catalog(["HTTPFetcher"]))
        #expect(progress.runsCompleted == 1)
        #expect(try store.rows(ofTable: "staging").count == 2)
        let requests = try served(server)
        #expect(requests.count == 2 && requests.allSatisfy { $0["headers"]?["x-api-key"]?.stringValue == secret })

        let events = try store.rows("SELECT interaction_id, payload FROM events WHERE kind = 'host_http_call' ORDER BY id")
        #expect(events.count == 2)
        let interactions = try store.rows("SELECT id FROM interactions ORDER BY id").compactMap { $0[0].integer }
        #expect(events.compactMap { $0[0].integer } == interactions, "one call per interaction, each its own event")
        for (index, event) in events.enumerated() {
            let payload = try JSON.parse(Array((event[1].text ?? "").utf8))
            #expect(payload["method"] == "GET" && payload["status"] == 200 && payload["host"] == .string("127.0.0.1:\(server.port)"))
            #expect(payload["path"] == .string("/pages/page-\(index + 1).json"))
            #expect(payload["response_sha256"]?.stringValue?.count == 64 && payload["bytes_in"]?.intValue ?? 0 > 0)
        }
        // Nowhere in the store: every text or blob of every table.
        for table in ["interactions", "events", "variants", "runs", "steps", "effects"] {
            for row in (try? store.rows("SELECT * FROM \(table)")) ?? [] {
                for value in row {
                    let text: String = switch value {
                    case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
                    default: value.text ?? ""
                    }
                    #expect(!text.contains(secret), "the secret is in table \(table)")
                }
            }
        }
    }
}

extension HostHTTPServiceTests {
    /// A trusted in-process fetcher reaches the same service: same grant, same events.
    @Test func anInProcessActorsCallsAreHeldToTheGrantAndRecordedToo() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["HTTPFetcher"], trusting: ["HTTPFetcher"])
        try EngineFixtures.run("""
            workflow: in-process-fetch
            subjects: {single: api}
            steps:
              granted:
                actor: http-fetcher
                isolation: inprocess
                network: {allow: ["127.0.0.1:\(server.port)"], schemes: [http]}
                config: {url: "http://127.0.0.1:\(server.port)/pages/page-1.json"}
              ungranted:
                actor: http-fetcher
                isolation: inprocess
                after: [granted]
                network: {allow: ["api.example.com"], schemes: [http]}
                config: {url: "http://127.0.0.1:\(server.port)/pages/page-1.json"}
            """, [Subject(key: "api", payload: [:])], store: store, catalog: catalog)
        let rows = try store.rows("""
            SELECT s.name, i.status, e.payload FROM events e JOIN interactions i ON i.id = e.interaction_id \
            JOIN steps s ON s.id = i.step_id WHERE e.kind = 'host_http_call' ORDER BY e.id
            """)
        #expect(rows.map { $0[0].text } == ["granted", "ungranted"])
        #expect(rows.map { $0[1].text } == ["completed", "failed"])
        let refused = try JSON.parse(Array((rows.last?[2].text ?? "{}").utf8))
        #expect(refused["status"] == 0 && refused["error"]?.stringValue?.contains("host 127.0.0.1 is not in the variant's network grant") == true)
        #expect(try served(server).count == 1, "the refused call never reached the server")
    }
}

extension HostHTTPServiceTests {
    /// A sandboxed request larger than the host reads of a frame is refused in the worker,
    /// with the limit's name, instead of breaking the wire.
    @Test func aRequestOverTheWorkersFrameLimitIsRefusedBeforeItIsSent() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
        configuration.limits.outputBytes = 600
        let config: JSON = ["endpoint": .string("http://127.0.0.1:\(server.port)/v1"), "prompt": .string(String(repeating: "x", count: 1000))]
        let pool = WorkerPool(plugin: try TestPlugins.loader().load(try TestPlugins.product("LLMGrader")), config: config.bytes,
                              configuration: configuration)
        #expect {
            try pool.invoke(Array("{}".utf8), timeout: .seconds(10))
        } throws: { error in
            guard let failure = error as? SandboxFailure else { return false }
            return failure.code == .actorFailed(.failed) && failure.message.contains("exceeds the limit of 600 bytes (limits: {output_bytes: N})")
        }
        #expect(try served(server).isEmpty)
    }
}

/// The service through the C ABI itself, and a worker that forges a host-call frame.
@Suite struct HostHTTPWireTests {
    private func pool(grant: NetworkGrant?) throws -> WorkerPool {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.networkGrant = grant
        return WorkerPool(plugin: try TestPlugins.loader().load(try TestPlugins.wireHostile()), configuration: configuration)
    }

    @Test func aCActorDetectsTheServiceAndGetsThroughTheGrantOnly() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try #"{"data":[]}"#.write(toFile: folder + "/page-1.json", atomically: true, encoding: .utf8)
        let server = try HTTPServer(pages: folder)
        defer { server.stop() }
        let input = #"{"do":"http","url":"http://127.0.0.1:\#(server.port)/pages/page-1.json"}"#
        let granted = try pool(grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]))
        #expect(try JSON.parse(try granted.invoke(Array(input.utf8), timeout: .seconds(10))) == ["status": 200, "bytes": 11])
        let ungranted = try pool(grant: try NetworkGrant(allow: ["api.example.com"]))
        #expect {
            try ungranted.invoke(Array(input.utf8), timeout: .seconds(10))
        } throws: { error in
            (error as? SandboxFailure)?.message.contains("scheme http is not in the variant's network grant (schemes: https)") == true
        }
    }

    @Test func requestsAndResponsesCrossTheWireIntactAndATruncatedOneIsRefused() throws {
        let request = HostHTTPRequest(method: "POST", url: "https://api.example.com/v1?q=é", headers: [("A", "1"), ("B", "")],
                                      body: [0, 255, 10], timeoutMilliseconds: 1500)
        #expect(try HostHTTPWire.request(HostHTTPWire.encode(request)) == request)
        let response = HostHTTPResponse(httpStatus: 201, headers: [("content-type", "application/json")], body: Array("{}".utf8))
        let back = try HostHTTPWire.response(HostHTTPWire.encode(response))
        #expect(back.status == WH_OK && back.httpStatus == 201 && back.body == response.body && back.error == nil)
        #expect(back.headers.map(\.name) == ["content-type"] && back.headers.map(\.value) == ["application/json"])
        let failure = try HostHTTPWire.response(HostHTTPWire.encode(HostHTTPResponse(failure: WH_ERR_UNAVAILABLE, "timed out")))
        #expect(failure.status == WH_ERR_UNAVAILABLE && failure.error == "timed out")
        let encoded = HostHTTPWire.encode(request)
        for cut in [0, 3, 9, encoded.count - 4] {
            #expect(throws: WorkerWire.WireError.self) { try HostHTTPWire.request(Array(encoded[..<cut])) }
        }
    }

    /// A worker writes the request frame straight from the actor's struct: the same bytes as
    /// from Swift values, and a length no buffer could have is refused before anything is read.
    @Test func theFrameFromTheABIsStructIsTheSameAndAForgedLengthIsRefusedUnread() throws {
        let request = HostHTTPRequest(method: "PUT", url: "https://api.example.com/v1?q=é", headers: [("A", "1"), ("B", "")],
                                      body: [0, 255, 10], timeoutMilliseconds: 1500)
        let method = Array("PUT".utf8CString), url = Array(request.url.utf8CString)
        let texts = ["A", "1", "B", ""].map { Array($0.utf8CString) }
        let body: [UInt8] = [0, 255, 10]
        try method.withUnsafeBufferPointer { method in
            try url.withUnsafeBufferPointer { url in
                try texts[0].withUnsafeBufferPointer { a in
                    try texts[1].withUnsafeBufferPointer { one in
                        try texts[2].withUnsafeBufferPointer { b in
                            let headers = [wh_http_header(name: a.baseAddress, name_length: 1, value: one.baseAddress, value_length: 1),
                                           wh_http_header(name: b.baseAddress, name_length: 1, value: nil, value_length: 0)]
                            try headers.withUnsafeBufferPointer { headers in
                                try body.withUnsafeBufferPointer { body in
                                    var c = wh_http_request(struct_size: UInt32(MemoryLayout<wh_http_request>.size), timeout_ms: 1500,
                                                            method: method.baseAddress, method_length: 3, url: url.baseAddress,
                                                            url_length: request.url.utf8.count, headers: headers.baseAddress,
                                                            header_count: 2, body: body.baseAddress, body_length: 3)
                                    let frame = try #require(HostHTTPWire.encode(c, limit: 1 << 20))
                                    #expect(frame == HostHTTPWire.encode(request))
                                    #expect(HostHTTPWire.encode(c, limit: UInt64(frame.count)) != nil, "exactly at the limit")
                                    #expect(HostHTTPWire.encode(c, limit: UInt64(frame.count - 1)) == nil)
                                    // Lengths past any buffer: refused before a byte of them is read.
                                    c.body_length = Int.max
                                    #expect(HostHTTPWire.encode(c, limit: 1 << 20) == nil)
                                    c.body_length = 3
                                    c.header_count = Int.max / 4
                                    #expect(HostHTTPWire.encode(c, limit: 1 << 20) == nil)
                                    c.header_count = -1
                                    #expect(HostHTTPWire.encode(c, limit: 1 << 20) == nil)
                                }
                            }
                        }
                    }
                }
            }
        }
        // A response frame is read in place: its parts are ranges of the payload.
        let response = HostHTTPResponse(httpStatus: 302, headers: [("location", "/next")], body: Array("moved".utf8))
        let frame = try HostHTTPWire.ResponseFrame(HostHTTPWire.encode(response))
        #expect(frame.status == WH_OK && frame.httpStatus == 302 && frame.error == nil)
        #expect(frame.headers.count == 1 && Array(frame.payload[frame.headers[0].value]) == Array("/next".utf8))
        #expect(Array(frame.payload[frame.body]) == Array("moved".utf8))
    }

    @Test func aForgedHostCallFrameIsAProtocolViolation() throws {
        let pool = try pool(grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]))
        #expect {
            try pool.invoke(Array(#"{"do":"http-garbage"}"#.utf8), timeout: .seconds(10))
        } throws: { error in
            guard let failure = error as? SandboxFailure else { return false }
            return failure.code == .protocolViolation && failure.message.contains("host-call frame")
        }
    }
}

/// Secrets from a file the operator names (`--secrets FILE`, `$WAVEHOST_SECRETS_FILE`): the
/// host sends the value, the file must be the user's own and readable by no one else, and a
/// bad line is refused without echoing it. Through the CLI, so the process-wide source is
/// the child's, never this test process's.
@Suite struct SecretsFileTests {
    /// Fetches /link with the secret in its Authorization header.
    static func fetch(_ server: HTTPServer, secrets: String?, environment: [String] = []) throws -> TestPlugins.ProcessResult {
        let config = #"{"url": "http://127.0.0.1:\#(server.port)/link", "headers": {"Authorization": {"secret": "API_TOKEN"}}}"#
        return try TestPlugins.run("/usr/bin/env", environment + [TestPlugins.cli, "invoke", try TestPlugins.product("HTTPFetcher"),
                                                                  "--config", config, "--input", "{}", "--network-allow", "127.0.0.1"]
                                    + (secrets.map { ["--secrets", $0] } ?? []))
    }

    /// What the server was sent so far (its /requests page).
    static func received(_ server: HTTPServer) throws -> String {
        try TestPlugins.run(TestPlugins.cli, ["invoke", try TestPlugins.product("HTTPFetcher"), "--input", "{}",
                                              "--config", #"{"url": "http://127.0.0.1:\#(server.port)/requests"}"#,
                                              "--network-allow", "127.0.0.1"]).output
    }

    @Test func theFilesValueIsSentAndAnUnsafeFileIsRefused() throws {
        let server = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        defer { server.stop() }
        let file = try TestPlugins.temporaryDirectory() + "/secrets"
        try "# for the tests\nAPI_TOKEN=Bearer from-the-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        // The environment is not consulted once a file is given.
        let sent = try Self.fetch(server, secrets: file, environment: ["API_TOKEN=from-the-environment"])
        #expect(sent.status == 0, "\(sent.error)")
        let seen = try Self.received(server)
        #expect(seen.contains(#""authorization":"Bearer from-the-file""#), "\(seen)")
        #expect(!seen.contains("from-the-environment"), "\(seen)")

        try "API_TOKEN=Bearer named-by-the-variable\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let viaVariable = try Self.fetch(server, secrets: nil, environment: ["WAVEHOST_SECRETS_FILE=\(file)"])
        #expect(viaVariable.status == 0, "\(viaVariable.error)")
        #expect(try Self.received(server).contains(#""authorization":"Bearer named-by-the-variable""#))

        // --secrets wins over the variable.
        let other = try TestPlugins.temporaryDirectory() + "/other-secrets"
        try "API_TOKEN=Bearer named-by-the-option\n".write(toFile: other, atomically: true, encoding: .utf8)
        chmod(other, 0o600)
        _ = try Self.fetch(server, secrets: other, environment: ["WAVEHOST_SECRETS_FILE=\(file)"])
        #expect(try Self.received(server).contains(#""authorization":"Bearer named-by-the-option""#))

        chmod(file, 0o644)
        let unsafe = try Self.fetch(server, secrets: file)
        #expect(unsafe.status == 2)
        #expect(unsafe.error.contains("can be read or written by others (mode 644): chmod 600"), "\(unsafe.error)")

        try "API_TOKEN Bearer no-equals-sign\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let malformed = try Self.fetch(server, secrets: file)
        #expect(malformed.status == 2)
        #expect(malformed.error.contains(":1: expected NAME=VALUE") && !malformed.error.contains("no-equals-sign"), "\(malformed.error)")
    }
}
