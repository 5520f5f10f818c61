import Host
import Testing

@Suite struct ConformanceCheckTests {
    private func run(_ path: String) throws -> (passed: Bool, results: [ConformanceCheck.Result]) {
        var results: [ConformanceCheck.Result] = []
        let passed = ConformanceCheck(path: path, loader: try TestPlugins.loader()).run { results.append($0) }
        return (passed, results)
    }

    @Test(arguments: ["EchoC", "FieldValidator", "JSONTransform"])
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

    @Test func leakingReleaseFailsTheCheck() throws {
        let (passed, results) = try run(try TestPlugins.misbehaving("LEAKY_RELEASE"))
        #expect(!passed)
        #expect(results.contains { $0.name == "releases every output" && !$0.passed && $0.detail.contains("outputs leak") })
    }
}
