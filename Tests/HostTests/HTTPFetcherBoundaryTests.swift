import ActorRuntime
import Foundation
import Testing
import WavehostEngine
import WavehostJSON

/// The http-fetcher against a remote API that tries to send it elsewhere: other schemes,
/// files, other origins, redirects. Two real servers on loopback are two origins.
@Suite(.serialized) struct HTTPFetcherBoundaryTests {
    private func fetcher(_ config: JSON) throws -> ActorInstance {
        try TestPlugins.loader().load(try TestPlugins.product("HTTPFetcher"))
            .makeInstance(config: config.bytes, http: try TestPlugins.loopbackHTTP("http-fetcher"))
    }

    /// Why creating a fetcher with `config` fails, or nil if it does not.
    private func createFailure(_ config: JSON) throws -> String? {
        do { _ = try fetcher(config); return nil } catch let error as PluginError { return error.description }
    }

    /// Why fetching `cursor` fails, or nil if it does not.
    private func refusal(_ fetcher: ActorInstance, cursor: String) -> ActorFailure? {
        do { _ = try fetcher.invoke(JSON.object([("cursor", .string(cursor))]).bytes); return nil } catch { return error }
    }

    private func page(_ fetcher: ActorInstance, _ input: JSON = [:]) throws -> JSON { try JSON.parse(try fetcher.invoke(input.bytes)) }

    /// The requests `server` has served so far, read through a plain fetcher.
    private func requests(to server: HTTPServer) throws -> [JSON] {
        try page(fetcher(["url": .string("http://127.0.0.1:\(server.port)/requests")]))["items"]?.arrayValue ?? []
    }

    @Test func onlyHTTPAndHTTPSAreFetched() throws {
        let server = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        defer { server.stop() }
        let configured = try #require(try createFailure(["url": "gopher://127.0.0.1:70/1"]))
        #expect(configured.contains("gopher://127.0.0.1:70/1: only http and https URLs are fetched, not gopher"), "\(configured)")
        let fetcher = try fetcher(["url": .string("http://127.0.0.1:\(server.port)/pages/page-1.json")])
        for cursor in ["gopher://127.0.0.1:\(server.port)/1", "dict://127.0.0.1:\(server.port)/d:x", "ftp://127.0.0.1/x"] {
            let refused = try #require(refusal(fetcher, cursor: cursor))
            #expect(refused.status == .failed)
            #expect(refused.message.contains("\(cursor): only http and https URLs are fetched"), "\(refused.message)")
        }
        #expect(try requests(to: server).isEmpty, "nothing reached the server")
    }

    @Test func fileURLsNeedTheOptInAndStayBeneathTheirRoot() throws {
        let root = try TestPlugins.temporaryDirectory()
        let outside = try TestPlugins.temporaryDirectory()
        try #"{"data":[{"id":1}],"paging":{"next":null}}"#.write(toFile: root + "/page-1.json", atomically: true, encoding: .utf8)
        try #"{"data":[{"secret":true}]}"#.write(toFile: outside + "/secret.json", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/link.json", withDestinationPath: outside + "/secret.json")

        let noOptIn = try #require(try createFailure(["url": .string("file://\(root)/page-1.json")]))
        #expect(noOptIn.contains("file:// is read only with \"allow_file\": true"), "\(noOptIn)")
        #expect(try createFailure(["url": .string("file://\(root)/page-1.json"), "allow_file": true])?
            .contains("\"allow_file\" needs \"file_root\"") == true)

        let server = try HTTPServer(pages: root)
        defer { server.stop() }
        let remote = try fetcher(["url": .string("http://127.0.0.1:\(server.port)/pages/page-1.json")])
        let fromRemote = try #require(refusal(remote, cursor: "file:///etc/passwd"))
        #expect(fromRemote.message.contains("file:///etc/passwd: file:// is read only with"), "\(fromRemote.message)")

        let files = try fetcher(["url": .string("file://\(root)/page-1.json"), "allow_file": true, "file_root": .string(root)])
        #expect(try page(files)["items"] == [["id": 1]])
        for cursor in ["file://\(root)/../\(URL(fileURLWithPath: outside).lastPathComponent)/secret.json", "file://\(root)/link.json",
                       "file:///etc/passwd"] {
            let refused = try #require(refusal(files, cursor: cursor), "\(cursor)")
            #expect(refused.status == .failed)
            #expect(refused.message.contains("is outside file_root \(root)"), "\(refused.message)")
            #expect(refused.message.hasPrefix(cursor), "the message names the URL at fault: \(refused.message)")
        }
    }

    @Test func aNextLinkToAnotherOriginIsRefusedUnlessListed() throws {
        let home = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        let other = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        defer { home.stop(); other.stop() }
        let elsewhere = "http://127.0.0.1:\(other.port)/link?next="
        let config: JSON = ["url": .string("http://127.0.0.1:\(home.port)/link?next=\(elsewhere)"), "headers": ["X-Api-Key": "k-123"]]
        let first = try page(fetcher(config))
        let next = try #require(first["next"]?.stringValue)
        #expect(next == elsewhere, "the page's link is answered as it is; following it is the question")
        let refused = try #require(refusal(try fetcher(config), cursor: next))
        #expect(refused.status == .failed)
        #expect(refused.message.contains("\(next): http://127.0.0.1:\(other.port) is not an allowed origin"), "\(refused.message)")
        #expect(try requests(to: other).isEmpty, "the other origin was never asked")
        // Scheme-relative and host-relative links resolve against the page, then meet the same check.
        let relative = try page(fetcher(["url": .string("http://127.0.0.1:\(home.port)/link?next=//127.0.0.1:\(other.port)/x")]))
        #expect(relative["next"] == .string("http://127.0.0.1:\(other.port)/x"))
    }

    @Test func theConfiguredHeadersNeverReachAnotherOrigin() throws {
        let home = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        let other = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        defer { home.stop(); other.stop() }
        let otherOrigin = "http://127.0.0.1:\(other.port)"
        let config: JSON = ["url": .string("http://127.0.0.1:\(home.port)/link?next=\(otherOrigin)/link?next="),
                            "headers": ["X-Api-Key": "k-123"], "allowed_origins": [.string(otherOrigin)]]
        let fetcher = try fetcher(config)
        let next = try #require(try page(fetcher)["next"]?.stringValue)
        #expect(try page(fetcher, ["cursor": .string(next)])["items"] == [["id": 1]], "a listed origin is followed")
        // And through a redirect from the home origin to the other one.
        let redirect = "http://127.0.0.1:\(home.port)/redirect?to=\(otherOrigin)/link?next="
        #expect(try page(fetcher, ["cursor": .string(redirect)])["items"] == [["id": 1]])

        let homeRequests = try requests(to: home), otherRequests = try requests(to: other)
        #expect(homeRequests.count == 2 && otherRequests.count == 2)
        #expect(homeRequests.allSatisfy { $0["headers"]?["x-api-key"] == "k-123" }, "the home origin gets its key")
        #expect(otherRequests.allSatisfy { $0["headers"]?["x-api-key"] == nil }, "\(otherRequests)")
    }

    @Test func aRedirectIsCheckedAsANextLinkIs() throws {
        let home = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        let other = try HTTPServer(pages: try TestPlugins.temporaryDirectory())
        defer { home.stop(); other.stop() }
        let base = "http://127.0.0.1:\(home.port)"
        let fetcher = try fetcher(["url": .string("\(base)/link?next="), "headers": ["X-Api-Key": "k-123"]])
        let sameOrigin = "\(base)/redirect?to=/link?next="
        #expect(try page(fetcher, ["cursor": .string(sameOrigin)])["items"] == [["id": 1]], "a same-origin redirect is followed")
        for target in ["http://127.0.0.1:\(other.port)/link?next=", "file:///etc/passwd", "gopher://127.0.0.1:\(other.port)/1"] {
            let cursor = "\(base)/redirect?to=\(target)"
            let refused = try #require(refusal(fetcher, cursor: cursor), "\(target)")
            #expect(refused.status == .failed)
            #expect(refused.message.contains("redirect from \(cursor) to \(target)"), "\(refused.message)")
        }
        #expect(try requests(to: other).isEmpty)
        #expect(try requests(to: home).allSatisfy { $0["headers"]?["x-api-key"] == "k-123" })
    }
}
