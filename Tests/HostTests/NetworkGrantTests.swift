import Testing
import WavehostEngine
import WavehostSandbox

/// The grant syntax (docs/workflows.md, "Grants"), defined once for the sandbox and the host services.
@Suite struct NetworkGrantTests {
    private let parser = WorkflowParser(file: "w.yaml", knownActors: ["fetcher"])

    @Test func aGrantIsReadFromAVariantAndFromTheStepShorthand() throws {
        let workflow = try parser.parse("""
            workflow: w
            steps:
              a:
                actor: fetcher
                network: {allow: ["api.example.com", "*.example.org:443", "10.0.0.5"], schemes: [https, http]}
                environment: [API_TOKEN]
                read: [/srv/api]
              b:
                variants:
                  - {actor: fetcher, network: {allow: ["[::1]:8080"]}}
            """)
        let a = try #require(workflow.step(named: "a")?.variants.first?.grants)
        let network = try #require(a.network)
        #expect(network.permits(scheme: "https", host: "api.example.com", port: 443))
        #expect(network.permits(scheme: "http", host: "x.example.org", port: 443))
        #expect(!network.permits(scheme: "https", host: "example.org", port: 443), "*. names what is below, not the domain")
        #expect(!network.permits(scheme: "https", host: "x.example.org", port: 80))
        #expect(!network.permits(scheme: "ftp", host: "api.example.com", port: 21))
        #expect(a.environment == ["API_TOKEN"] && a.read == ["/srv/api"])
        let b = try #require(workflow.step(named: "b")?.variants.first?.grants.network)
        #expect(b.schemes == ["https"], "https by default")
        #expect(b.permits(scheme: "https", host: "[::1]", port: 8080))
    }

    @Test(arguments: [
        (#"network: {allow: ["https://api.example.com"]}"#, "is a URL"),
        (#"network: {allow: ["api.example.com:99999"]}"#, "the port must be a number"),
        (#"network: {allow: ["api.*.com"]}"#, "a wildcard may only start a name"),
        (#"network: {allow: ["api.example.com"], schemes: [gopher]}"#, "unknown scheme \"gopher\""),
        (#"network: {allow: []}"#, "allow lists no host"),
        (#"network: {schemes: [https]}"#, "network needs \"allow\""),
        (#"read: [relative/path]"#, "read needs absolute paths"),
        (#"environment: ["A=B"]"#, "is not one"),
    ])
    func aBadGrantIsRefusedWithItsLine(_ grant: String, _ message: String) {
        do {
            _ = try parser.parse("workflow: w\nsteps:\n  a:\n    actor: fetcher\n    \(grant)\n")
            Issue.record("\(grant) was accepted")
        } catch {
            #expect(error.description.contains("w.yaml:5:"), "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func theRefusalForAnUngrantedActorSaysHowToGrantIt() {
        let message = NetworkGrant.notGranted(actor: "http-fetcher")
        #expect(message.contains("network: {allow: [") && message.contains("--network-allow"))
    }
}
