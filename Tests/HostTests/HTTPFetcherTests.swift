import Foundation
import Testing
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostSandbox

/// The bundled http-fetcher against files and a real HTTP server on loopback.
@Suite(.serialized) struct HTTPFetcherTests {
    /// Three pages in a temporary folder: 2 + 2 + 1 items. Page 1 links to page 2
    /// relatively; page 2 links to page 3 by `secondLink` (host-relative over HTTP).
    private func pages(secondLink: String = "page-3.json") throws -> String {
        let folder = try TestPlugins.temporaryDirectory()
        let bodies = [#"{"data":[{"id":1},{"id":2}],"paging":{"next":"page-2.json"}}"#,
                      #"{"data":[{"id":3},{"id":4}],"paging":{"next":"\#(secondLink)"}}"#,
                      #"{"data":[{"id":5}],"paging":{"next":null}}"#]
        for (index, body) in bodies.enumerated() {
            try body.write(toFile: "\(folder)/page-\(index + 1).json", atomically: true, encoding: .utf8)
        }
        return folder
    }

    /// In process, with the host's HTTP service granted plain HTTP to loopback.
    private func fetcher(_ config: JSON) throws -> ActorInstance {
        try TestPlugins.loader().load(try TestPlugins.product("HTTPFetcher"))
            .makeInstance(config: config.bytes, http: try TestPlugins.loopbackHTTP("http-fetcher"))
    }

    /// Follows "next" until it is null, as the engine will.
    private func walk(_ fetcher: ActorInstance) throws -> [Int] {
        var ids: [Int] = []
        var input: JSON = [:]
        for _ in 0..<10 {
            let page = try JSON.parse(try fetcher.invoke(input.bytes))
            ids += page["items"]?.arrayValue?.compactMap { $0["id"]?.intValue } ?? []
            guard let next = page["next"]?.stringValue else { return ids }
            input = ["cursor": .string(next)]
        }
        Issue.record("more than 10 pages")
        return ids
    }

    @Test func walksFilePagesByTheirNextLinks() throws {
        let folder = try pages()
        #expect(try walk(fetcher(["url": .string("file://\(folder)/page-1.json"), "allow_file": true, "file_root": .string(folder)]))
            == [1, 2, 3, 4, 5])
    }

    @Test func aFilePageLargerThanMaxBytesIsRefusedSayingSo() throws {
        let folder = try pages()
        let fetcher = try fetcher(["url": .string("file://\(folder)/page-1.json"), "allow_file": true, "file_root": .string(folder),
                                   "max_bytes": 16])
        #expect {
            try fetcher.invoke(Array("{}".utf8))
        } throws: { error in
            "\(error)".contains("page file://\(folder)/page-1.json is larger than max_bytes (16)")
        }
    }

    /// The bundled sample API: 50 postings over 5 pages; the field validator, with the
    /// sample config, rejects exactly the 5 postings with a field fault (the 2 re-posted
    /// ids are a de-duplication matter, not a field one). See samples/api/README.md.
    @Test func bundledSamplePagesWalkToFiftyPostingsAndFiveFieldFaults() throws {
        let samples = TestPlugins.repositoryRoot + "/samples"
        let fetcher = try fetcher(["url": .string("file://\(samples)/api/page-1.json"), "allow_file": true,
                                   "file_root": .string(samples + "/api")])
        var postings: [JSON] = []
        var input: JSON = [:]
        while true {
            let page = try JSON.parse(try fetcher.invoke(input.bytes))
            postings += page["items"]?.arrayValue ?? []
            guard let next = page["next"]?.stringValue else { break }
            input = ["cursor": .string(next)]
        }
        #expect(postings.count == 50)
        let config = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: samples + "/validator-config.json"))))
        let validator = try TestPlugins.loader().load(try TestPlugins.product("FieldValidator")).makeInstance(config: config.bytes)
        let rejected = try postings.filter { posting in
            try JSON.parse(try validator.invoke(posting.bytes))["valid"] == false
        }.compactMap { $0["external_id"]?.stringValue }
        #expect(rejected.sorted() == ["copperleaf-3342", "kestrel-95", "lumen-9", "vellum-502", "vellum-521"])
    }

    @Test func talksHTTPAndTellsRetryableFromFinalFailures() throws {
        let server = try HTTPServer(pages: try pages(secondLink: "/pages/page-3.json"))
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try walk(fetcher(["url": .string("\(base)/pages/page-1.json")])) == [1, 2, 3, 4, 5])

        func failure(at url: String, timeout: Int = 10_000) throws -> ActorFailure? {
            do { _ = try fetcher(["url": .string(url), "timeout_ms": .integer(timeout)]).invoke("{}"); return nil }
            catch let error as ActorFailure { return error }
        }
        func failure(_ path: String, timeout: Int = 10_000) throws -> ActorFailure? { try failure(at: base + path, timeout: timeout) }
        let serverError = try #require(try failure("/status/500"))
        #expect(serverError.status == .unavailable && serverError.message.contains("the server answered 500"))
        let slow = try #require(try failure("/slow", timeout: 300))
        #expect(slow.status == .unavailable && slow.message.contains("timed out after 300 ms"))
        let malformed = try #require(try failure("/malformed"))
        #expect(malformed.status == .unavailable && malformed.message.contains("is not valid JSON"))
        let missing = try #require(try failure("/pages/page-9.json"))
        #expect(missing.status == .failed && missing.message.contains("the server answered 404"))
        let refused = try #require(try failure(at: "http://127.0.0.1:1/x"))
        #expect(refused.status == .unavailable)
    }

    /// In the sandbox, the variant's grant is what lets the fetcher out, through the host:
    /// the worker itself has no network either way.
    @Test func reachesTheNetworkFromTheSandboxOnlyWhenGranted() throws {
        let server = try HTTPServer(pages: try pages())
        defer { server.stop() }
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        let plugin = try TestPlugins.loader().load(try TestPlugins.product("HTTPFetcher"))
        let config: JSON = ["url": .string("http://127.0.0.1:\(server.port)/pages/page-3.json")]
        let claimed = WorkerPool(plugin: plugin, config: config.bytes, configuration: configuration)
        #expect {
            try claimed.invoke(Array("{}".utf8), timeout: .seconds(10))
        } throws: { error in
            (error as? SandboxFailure)?.message.contains("the variant of actor http-fetcher grants no network") == true
        }
        configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
        let granted = WorkerPool(plugin: plugin, config: config.bytes, configuration: configuration)
        let page = try JSON.parse(try granted.invoke(Array("{}".utf8), timeout: .seconds(10)))
        #expect(page["items"] == [["id": 5]])
        let network = granted.statistics.layers["network-namespace"] ?? ""
        #expect(network.hasPrefix("ok"), "the worker has no network of its own: \(network)")
    }
}
