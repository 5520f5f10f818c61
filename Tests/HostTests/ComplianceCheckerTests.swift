import Foundation
import Testing
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostSandbox

/// The bundled compliance-checker in a sandboxed worker granted loopback HTTP, against the
/// real sample agent (samples/compliance/agent.py) behaving well, badly, slowly, not at all.
@Suite(.serialized) struct ComplianceCheckerTests {
    static let keys = ["identity/discovery", "identity/auth", "catalog/list", "catalog/item", "orders/create", "orders/status"]

    /// A pool of one sandboxed worker, granted `network` and `read` as a variant would.
    private func checker(_ config: JSON = ["suite": .string(SampleAgent.suitePath)], network: Bool = true,
                         read: [String] = [SampleAgent.suitePath]) throws -> WorkerPool {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.size = 1
        if network { configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]) }
        configuration.readGrant = read
        let plugin = try TestPlugins.loader().load(try TestPlugins.product("ComplianceChecker"))
        return WorkerPool(plugin: plugin, config: config.bytes, configuration: configuration)
    }

    private func check(_ url: String, _ pool: WorkerPool? = nil) throws -> JSON {
        let pool = try pool ?? checker()
        let input: JSON = ["subject": ["agent": "sample", "url": .string(url), "owner": "tests"]]
        return try JSON.parse(try pool.invoke(input.bytes, timeout: .seconds(60)))
    }

    private func results(_ output: JSON) -> [String: JSON] {
        Dictionary(uniqueKeysWithValues: (output["results"]?.arrayValue ?? []).compactMap { result in
            result["key"]?.stringValue.map { ($0, result) }
        })
    }

    private func reasons(_ result: JSON?) -> [String] {
        result?["failures"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? []
    }

    @Test func everyPhasePassesAgainstTheSampleAgent() throws {
        let agent = try SampleAgent()
        let output = try check(agent.url)
        #expect(output["agent"] == "sample" && output["suite"] == "sample-agent" && output["url"] == .string(agent.url))
        let results = try #require(output["results"]?.arrayValue)
        #expect(results.compactMap { $0["key"]?.stringValue } == Self.keys, "one result per phase, in suite order")
        for result in results {
            #expect(result["passed"] == result["total"] && result["failures"] == [], "\(result.text)")
            #expect(result["key"]?.stringValue == "\(result["storyboard"]?.stringValue ?? "")/\(result["phase"]?.stringValue ?? "")")
        }
        #expect(results.reduce(0) { $0 + ($1["total"]?.intValue ?? 0) } == 10)
        let started = try #require(output["started_at"]?.stringValue), finished = try #require(output["finished_at"]?.stringValue)
        #expect(started.count == 24 && started.hasSuffix("Z") && started.dropFirst(19).hasPrefix("."), "ISO 8601 UTC with ms: \(started)")
        #expect(started <= finished)
    }

    @Test func failingPhasesFailWithTheirReasonsAndTheRestPass() throws {
        let agent = try SampleAgent(["--fail", "identity/discovery", "--fail", "catalog/list", "--fail", "catalog/item"])
        let byKey = results(try check(agent.url))
        #expect(byKey.count == 6)
        let discovery = byKey["identity/discovery"]
        #expect(discovery?["passed"] == 0 && discovery?["total"] == 2)
        #expect(reasons(discovery).contains { $0.contains(#"field name: expected "sample-agent", got 12"#) }, "\(reasons(discovery))")
        #expect(reasons(byKey["catalog/list"]).contains { $0.contains("schema: /items/0/price: expected number, got string") },
                "\(reasons(byKey["catalog/list"]))")
        let item = reasons(byKey["catalog/item"])
        #expect(item.contains { $0.contains(#"field item.id: expected "a1", got 2"#) }, "\(item)")
        #expect(item.contains { $0.hasPrefix("status: expected 404, got 200") }, "\(item)")
        #expect(byKey["catalog/item"]?["failures"]?.arrayValue?.compactMap { $0["step"]?.stringValue }
            == ["reads one item", "404 for an unknown item"])
        for key in ["identity/auth", "orders/create", "orders/status"] {
            #expect(byKey[key]?["failures"] == [] && byKey[key]?["passed"] == byKey[key]?["total"], "\(key) is not failing")
        }
    }

    @Test func anUnreachableAgentFailsEveryStepWithAReason() throws {
        let port = try SampleAgent.closedPort()
        let output = try check("http://127.0.0.1:\(port)")
        let results = try #require(output["results"]?.arrayValue)
        #expect(results.count == 6)
        for result in results {
            #expect(result["passed"] == 0, "\(result.text)")
            #expect(result["failures"]?.arrayValue?.count == result["total"]?.intValue)
            for reason in reasons(result) {
                #expect(reason.hasSuffix(": connection refused") && (reason.hasPrefix("GET /") || reason.hasPrefix("POST /")), "\(reason)")
            }
        }
        #expect(reasons(results[0]).first == "GET /.well-known/agent.json: connection refused")
    }

    /// The control endpoint makes one check slow and the next fast, with the same worker.
    @Test func aSlowAgentFailsWithinMsThenPassesWhenFastAgain() throws {
        let agent = try SampleAgent()
        let pool = try checker()
        try agent.control(["delay_ms": 650])
        let slow = results(try check(agent.url, pool))
        let list = reasons(slow["catalog/list"])
        #expect(list.count == 1 && list[0].hasPrefix("answered in ") && list[0].hasSuffix(" ms, over 500"), "\(list)")
        #expect(slow["identity/auth"]?["failures"] == [], "no within_ms there: slow is fine")
        #expect(slow["orders/status"]?["passed"] == 0)
        try agent.control(["delay_ms": 0])
        let fast = results(try check(agent.url, pool))
        #expect(fast.values.allSatisfy { $0["failures"] == [] }, "\(fast)")
    }

    @Test func anAgentThatNeverAnswersInTimeFailsEachStepByItsLimit() throws {
        let agent = try SampleAgent(["--slow-ms", "1500"])
        let output = try check(agent.url, try checker(["suite": .string(SampleAgent.suitePath), "timeout_ms": 200]))
        let all = (output["results"]?.arrayValue ?? []).flatMap(reasons)
        #expect(all.count == 10)
        #expect(all.allSatisfy { $0.hasSuffix(": no answer within 200 ms") }, "\(all)")
    }

    @Test func malformedAnswersAreFailedStepsNotErrors() throws {
        let agent = try SampleAgent(["--malformed"])
        let output = try check(agent.url)
        let all = (output["results"]?.arrayValue ?? []).flatMap(reasons)
        #expect(all.count >= 8, "\(all)")
        #expect(all.contains { $0.hasPrefix("body is not JSON: ") && $0.contains("<html>") }, "\(all)")
        // The steps that expect a 401, 404 or 201 see the 200 first.
        #expect(all.contains { $0.hasPrefix("status: expected 401, got 200") }, "\(all)")
    }

    @Test func aBadSuiteIsRefusedNamingTheFileAndWhere() throws {
        let folder = try TestPlugins.temporaryDirectory()
        func refusal(_ suite: String?, name: String = "suite.json", at given: String? = nil) throws -> String? {
            let path = given ?? folder + "/" + name
            if let suite { try suite.write(toFile: path, atomically: true, encoding: .utf8) }
            let plugin = try TestPlugins.loader().load(try TestPlugins.product("ComplianceChecker"))
            do { _ = try plugin.makeInstance(config: (["suite": .string(path)] as JSON).bytes); return nil } catch {
                #expect(error.code == .createFailed)
                return error.message
            }
        }
        let slash = try #require(try refusal(#"{"suite": "s", "storyboards": [{"name": "a", "phases": [{"name": "b/c", "steps": [{"name": "x", "request": {"path": "/x"}}]}]}]}"#))
        #expect(slash.contains("suite \(folder)/suite.json: storyboards[0].phases[0].name: \"b/c\" holds a \"/\""), "\(slash)")
        let twice = try #require(try refusal(#"{"suite": "s", "storyboards": [{"name": "a", "phases": [{"name": "p", "steps": [{"name": "x", "request": {"path": "/x"}}]}]}, {"name": "a", "phases": []}]}"#))
        #expect(twice.contains("storyboards[1].name: storyboard \"a\" is named twice"), "\(twice)")
        let schema = try #require(try refusal(#"{"suite": "s", "storyboards": [{"name": "a", "phases": [{"name": "p", "steps": [{"name": "x", "request": {"path": "/x"}, "expect": {"schema": {"properties": {"id": {"pattern": "^a"}}}}}]}]}]}"#))
        #expect(schema.contains("storyboards[0].phases[0].steps[0].expect.schema.properties.id.pattern: not in the schema subset"), "\(schema)")
        let path = try #require(try refusal(#"{"suite": "s", "storyboards": [{"name": "a", "phases": [{"name": "p", "steps": [{"name": "x", "request": {"path": "x"}}]}]}]}"#))
        #expect(path.contains("steps[0].request.path: must be a string starting with \"/\""), "\(path)")
        let notJSON = try #require(try refusal("{\"suite\": ", name: "broken.json"))
        #expect(notJSON.contains("suite \(folder)/broken.json is not JSON"), "\(notJSON)")
        let missing = try #require(try refusal(nil, name: "missing.json"))
        #expect(missing.contains("suite \(folder)/missing.json: No such file or directory"), "\(missing)")
        // An endless file is cut at 16 MiB, not read into all of memory.
        let endless = try #require(try refusal(nil, at: "/dev/zero"))
        #expect(endless.contains("suite /dev/zero is larger than 16 MiB"), "\(endless)")
    }

    /// The variant must grant the suite's file: without `read:`, the sandbox refuses it, and
    /// the refusal says what to grant.
    @Test func aSuiteTheVariantDoesNotGrantIsRefusedSayingSo() throws {
        let pool = try checker(read: [])
        #expect {
            try pool.warm(1)
        } throws: { error in
            let message = (error as? SandboxFailure)?.message ?? "\(error)"
            return message.contains("suite \(SampleAgent.suitePath): Permission denied") && message.contains("read: [")
        }
    }

    /// A request the host refuses is the operator's fault, not the agent's: an error, never a
    /// failed step (which would be written down as the agent failing).
    @Test func aRequestTheGrantRefusesIsAnErrorNotAFailedStep() throws {
        let agent = try SampleAgent()
        let pool = try checker(network: false)
        #expect {
            try check(agent.url, pool)
        } throws: { error in
            guard let failure = error as? SandboxFailure, case .actorFailed(.failed) = failure.code else { return false }
            return failure.message.contains("the host refused a request of step \"card answers\" (identity/discovery)")
                && failure.message.contains("grants no network")
        }
    }

    @Test func anInputWithoutAnAgentURLIsRefused() throws {
        let pool = try checker()
        for input: JSON in [["subject": ["agent": "a1"]], ["subject": ["url": "ftp://127.0.0.1/"]], ["url": "http://"], [1]] {
            do {
                _ = try pool.invoke(input.bytes, timeout: .seconds(10))
                Issue.record("\(input.text) was not refused")
            } catch let failure as SandboxFailure {
                #expect(failure.code == .actorFailed(.invalidInput), "\(input.text): \(failure.message)")
            }
        }
        // A top-level url does, for `wavehost invoke`.
        let agent = try SampleAgent()
        let output = try JSON.parse(try pool.invoke((["agent": "cli", "url": .string(agent.url + "/")] as JSON).bytes, timeout: .seconds(60)))
        #expect(output["agent"] == "cli" && output["url"] == .string(agent.url))
    }

    @Test func passesItsConformanceCheck() throws {
        let plugin = try TestPlugins.product("ComplianceChecker")
        let sandboxed = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", plugin, "--cache-dir", try TestPlugins.temporaryDirectory()])
        #expect(sandboxed.status == 0, "\(sandboxed.output)\(sandboxed.error)")
        let trusted = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", plugin, "--trust", try TestPlugins.sha256(plugin),
                                                            "--cache-dir", try TestPlugins.temporaryDirectory()])
        #expect(trusted.status == 0, "\(trusted.output)\(trusted.error)")
        #expect(trusted.output.contains("PASS  releases every output") && trusted.output.contains("PASS  thread-safe under concurrent calls"),
                "\(trusted.output)")
    }
}
