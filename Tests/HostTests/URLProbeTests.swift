import ActorRuntime
import Foundation
import Synchronization
import Testing
import WavehostJSON
import WavehostSandbox

/// url-probe, the C example of the host's HTTP service, in a sandbox with no network of its
/// own: what it answers for a server's statuses, and the host's refusals it passes on.
@Suite(.serialized) struct URLProbeTests {
    private static let page = #"{"data":[{"id":1}],"paging":{"next":null}}"#

    private func server() throws -> HTTPServer {
        let pages = try TestPlugins.temporaryDirectory()
        try Self.page.write(toFile: pages + "/page-1.json", atomically: true, encoding: .utf8)
        return try HTTPServer(pages: pages)
    }

    private func probe(_ config: JSON, grant: NetworkGrant? = try? NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])) throws -> WorkerPool {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.networkGrant = grant
        return WorkerPool(plugin: try TestPlugins.loader().load(try TestPlugins.product("URLProbe")), config: config.bytes,
                          configuration: configuration)
    }

    private func answer(_ pool: WorkerPool, _ input: JSON = [:]) throws -> JSON {
        try JSON.parse(try pool.invoke(input.bytes, timeout: .seconds(10)))
    }

    private func failure(_ pool: WorkerPool, _ input: JSON = [:], timeout: Duration = .seconds(10)) -> SandboxFailure? {
        do { _ = try pool.invoke(input.bytes, timeout: timeout); return nil } catch { return error }
    }

    @Test func answersTheStatusAndSizeOfAGrantedURL() throws {
        let server = try server()
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        let pool = try probe(["url": .string(url)])
        defer { pool.shutdown() }
        #expect(try answer(pool) == ["url": .string(url), "status": 200, "ok": true, "bytes": .integer(Self.page.utf8.count)])
        // A server error is an answer: the probe says it is down, it does not fail.
        let broken = "http://127.0.0.1:\(server.port)/status/500"
        #expect(try answer(pool, ["url": .string(broken)]) == ["url": .string(broken), "status": 500, "ok": false, "bytes": 20])
        let served = try JSON.parse(TestPlugins.loopbackHTTP("test")
            .perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/requests")).body)["data"]?.arrayValue ?? []
        #expect(served.count == 2)
        #expect(served.allSatisfy { $0["headers"]?["user-agent"] == "wavehost-url-probe/1.0" }, "\(served)")
    }

    @Test func expectStatusDecidesWhatCountsAsUp() throws {
        let server = try server()
        defer { server.stop() }
        let pool = try probe(["url": .string("http://127.0.0.1:\(server.port)/status/500"), "expect_status": 500])
        defer { pool.shutdown() }
        #expect(try answer(pool)["ok"] == true)
        #expect(try answer(pool, ["url": .string("http://127.0.0.1:\(server.port)/pages/page-1.json")])["ok"] == false)
    }

    /// The actor has no network: a URL outside its grant, or any URL without one, is refused
    /// by the host, and the probe fails with the host's reason.
    @Test func theHostsRefusalsReachTheCallerAndNothingReachesTheServer() throws {
        let server = try server()
        defer { server.stop() }
        let granted = try probe(["url": .string("http://127.0.0.1:\(server.port)/pages/page-1.json")])
        let ungranted = try probe(["url": .string("http://127.0.0.1:\(server.port)/pages/page-1.json")], grant: nil)
        defer { granted.shutdown(); ungranted.shutdown() }
        let elsewhere = try #require(failure(granted, ["url": .string("http://localhost:\(server.port)/pages/page-1.json")]))
        #expect(elsewhere.code == .actorFailed(.failed))
        #expect(elsewhere.message.contains("GET http://localhost:\(server.port)/pages/page-1.json refused"), "\(elsewhere.message)")
        let none = try #require(failure(ungranted))
        #expect(none.code == .actorFailed(.failed))
        #expect(none.message.contains("grants no network") || none.message.contains("no network grant"), "\(none.message)")
        let scheme = try #require(failure(granted, ["url": "file:///etc/passwd"]))
        #expect(scheme.code == .actorFailed(.invalidInput) && scheme.message.contains("http:// or https:// URL"), "\(scheme.message)")
        let served = try JSON.parse(TestPlugins.loopbackHTTP("test")
            .perform(HostHTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/requests")).body)["data"]?.arrayValue
        #expect(served == [], "nothing reached the server")
    }

    /// The server sleeps 3 s; the call's deadline is 1 s: the host ends the request inside
    /// it, and the probe answers unavailable (worth retrying) instead of being killed.
    @Test func aServerThatDoesNotAnswerIsUnavailable() throws {
        let server = try server()
        defer { server.stop() }
        let pool = try probe(["url": .string("http://127.0.0.1:\(server.port)/slow")])
        defer { pool.shutdown() }
        let slow = try #require(failure(pool, timeout: .seconds(1)))
        #expect(slow.code == .actorFailed(.unavailable) && slow.message.contains("timed out after"), "\(slow.message)")
        #expect(pool.statistics.retired == 0)
    }

    /// The worker's side of the service, run here: the actor's request relayed as a frame,
    /// the host's answer handed to the C actor in place, and a request over the frame limit
    /// refused before it is relayed. (In this process, so the sanitizers see it.)
    @Test func theRelayedServiceHandsTheActorTheHostsAnswerInPlace() throws {
        let server = try server()
        defer { server.stop() }
        let service = try TestPlugins.loopbackHTTP("url-probe")
        let relayed = Mutex(0)
        func relay(limit: UInt64) -> HostServicesTable.HTTPService {
            .relayed(limit: limit) { frame in
                relayed.withLock { $0 += 1 }
                let request = try! HostHTTPWire.request(frame)
                return try! HostHTTPWire.ResponseFrame(HostHTTPWire.encode(service.perform(request)))
            }
        }
        let image = try PluginImage(path: try TestPlugins.product("URLProbe"))
        let url = "http://127.0.0.1:\(server.port)/pages/page-1.json"
        let config = JSON.object([("url", .string(url))]).bytes
        let probe = try image.makeInstance(config: config, httpService: relay(limit: 4096))
        #expect(try JSON.parse(probe.invoke(Array("{}".utf8))) == ["url": .string(url), "status": 200, "ok": true,
                                                                   "bytes": .integer(Self.page.utf8.count)])
        let elsewhere = "http://localhost:\(server.port)/"
        #expect {
            try probe.invoke(JSON.object([("url", .string(elsewhere))]).bytes)
        } throws: { error in
            guard let failure = error as? ActorFailure else { return false }
            return failure.status == .failed && failure.message.contains("GET \(elsewhere) refused")
        }
        let cramped = try image.makeInstance(config: config, httpService: relay(limit: 64))
        #expect {
            try cramped.invoke(Array("{}".utf8))
        } throws: { error in
            guard let failure = error as? ActorFailure else { return false }
            return failure.status == .failed && failure.message.contains("GET \(url) refused: the request exceeds the limit of 64 bytes")
        }
        #expect(relayed.withLock { $0 } == 2, "the request over the limit was never relayed")
    }

    @Test(arguments: [
        (JSON.object([]), "config needs \"url\""),
        (["url": "ftp://example.com/"], "\"url\" must be an http:// or https:// URL"),
        (["url": "http://example.com/", "expect_status": 42], "\"expect_status\" must be an HTTP status"),
        (["url": "http://example.com/", "timeout_ms": 0], "\"timeout_ms\" must be a whole number"),
        (["url": "http://example.com/", "retries": 3], "unknown config option"),
    ] as [(JSON, String)])
    func aBadConfigFailsCreateNamingTheOption(_ config: JSON, _ expected: String) throws {
        let pool = try probe(config)
        defer { pool.shutdown() }
        let refused = try #require(failure(pool))
        #expect(refused.code == .startFailed && refused.message.contains(expected), "\(refused.message)")
    }

    /// An example third parties copy: it builds with its Makefile and nothing but a C
    /// compiler and the two headers, warnings as errors.
    @Test func buildsWithMakeAloneWithoutWarnings() throws {
        let folder = try TestPlugins.temporaryDirectory()
        for file in ["probe.c", "Makefile"] {
            try FileManager.default.copyItem(atPath: TestPlugins.repositoryRoot + "/Plugins/URLProbe/" + file, toPath: folder + "/" + file)
        }
        let build = try TestPlugins.run("/usr/bin/env", [
            "make", "-C", folder, "HEADER_DIR=\(TestPlugins.repositoryRoot)/ActorKit/Sources/ActorABI/include",
            "CFLAGS=-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror",
        ])
        #expect(build.status == 0, "\(build.output)\(build.error)")
        #expect(FileManager.default.fileExists(atPath: folder + "/libURLProbe.so"))
    }
}
