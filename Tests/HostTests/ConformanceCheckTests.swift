import Testing
import WavehostEngine
import WavehostPlugins

@Suite struct ConformanceCheckTests {
    private func run(_ path: String) throws -> (passed: Bool, results: [ConformanceCheck.Result]) {
        var results: [ConformanceCheck.Result] = []
        let passed = ConformanceCheck(path: path, loader: try TestPlugins.loader()).run { results.append($0) }
        return (passed, results)
    }

    @Test(arguments: ["EchoC", "URLProbe", "FieldValidator", "JSONTransform"])
    func shippingPluginsPass(_ product: String) throws {
        let (passed, results) = try run(try TestPlugins.product(product))
        #expect(passed, "\(results.filter { !$0.passed }.map { "\($0.name): \($0.detail)" })")
        let names = results.map(\.name)
        for expected in ["loads", "creates with its example config", #"hostile input "empty""#, #"hostile input "invalid JSON""#,
                         #"hostile input "1 MiB""#, #"hostile input "non-UTF-8""#, "releases every output"] {
            #expect(names.contains(expected), "missing check \(expected)")
        }
        #expect(names.filter { $0.hasPrefix("example ") }.count >= 3)
    }

    @Test func garbageOutputFailsTheCheck() throws {
        let (passed, results) = try run(try TestPlugins.misbehaving("INVALID_OUTPUT"))
        #expect(!passed)
        let failed = results.filter { !$0.passed }
        #expect(failed.contains { $0.name == #"hostile input "empty""# && $0.detail.contains("output is not valid JSON") })
    }

    @Test func aPluginThatFailsToLoadFailsTheFirstCheck() throws {
        let (passed, results) = try run(try TestPlugins.misbehaving("WRONG_ABI"))
        #expect(!passed)
        #expect(results.count == 1)
        #expect(results.first?.name == "loads")
        #expect(results.first?.detail.contains("unsupported ABI version") == true)
    }

    /// The leak check measures the whole process's heap, so it runs where the CLI runs
    /// it: alone in a child process, not beside this suite's parallel tests; and it maps
    /// the library, so only for a trusted build.
    @Test func leakingReleaseFailsTheCheck() throws {
        let cache = try TestPlugins.temporaryDirectory()
        let leaky = try TestPlugins.misbehaving("LEAKY_RELEASE")
        let result = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", leaky, "--cache-dir", cache,
                                                           "--trust", try TestPlugins.sha256(leaky)])
        #expect(result.status == 4)
        #expect(result.output.contains("FAIL  releases every output: heap grew"))
        #expect(result.output.contains("outputs leak"))
    }
}
