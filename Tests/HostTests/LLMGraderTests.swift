import Foundation
import Testing
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostSandbox

/// The bundled llm-grader against the real local model (few calls: each takes seconds)
/// and against a loopback stand-in that misbehaves on request.
@Suite(.serialized) struct LLMGraderTests {
    private static let gradeSchema: JSON = [
        "type": "object",
        // The reason is bounded, as in the bundled pipeline: a small model that loops inside an
        // unbounded string runs into max_tokens before the grammar can close it (seen in CI).
        "properties": ["grade": ["type": "integer", "minimum": 1, "maximum": 5], "reason": ["type": "string", "maxLength": 200]],
        "required": ["grade", "reason"],
    ]

    private static let posting: JSON = [
        "posting": [
            "title": "Senior Backend Engineer (Swift, PostgreSQL)",
            "company": ["name": "Kestrel Logistics", "city": "Rotterdam"],
            "salary": ["min": 72000, "max": 88000, "currency": "EUR"],
            "description": """
                You will design and run the services that route 40,000 parcels a day: Swift on Linux, \
                PostgreSQL, Kafka. Hybrid, 3 days a week in the office. We offer 30 days of leave, \
                a training budget and a pension plan.
                """,
        ],
    ]

    private static let gradingPrompt = """
        Grade this job posting for how clear and complete it is, from 1 (poor) to 5 (excellent).
        Title: {{posting.title}}
        Company: {{posting.company.name}} in {{posting.company.city}}
        Salary: {{posting.salary}}
        Description: {{posting.description}}
        """

    /// In process, with the host's HTTP service granted plain HTTP to loopback.
    private func grader(_ config: JSON) throws -> ActorInstance {
        try TestPlugins.loader().load(try TestPlugins.product("LLMGrader"))
            .makeInstance(config: config.bytes, http: try TestPlugins.loopbackHTTP("llm-grader", secrets: HostHTTP.secretNames(in: config)))
    }

    private func failure(_ config: JSON, _ input: JSON = posting) throws -> ActorFailure? {
        do { _ = try grader(config).invoke(input.bytes); return nil } catch let error as ActorFailure { return error }
    }

    private func configFailure(_ config: JSON) throws -> String? {
        do { _ = try grader(config); return nil } catch let error as PluginError where error.code == .createFailed {
            return error.message
        }
    }

    @Test func gradesARealPostingWithTheRealModelWithinTheSchema() throws {
        let server = try LLMServer.shared.get()
        let instance = try grader([
            "endpoint": .string(server.endpoint), "model": "gemma-3-270m",
            "system": "You are a strict reviewer of job postings. Answer in JSON.",
            "prompt": .string(Self.gradingPrompt), "schema": Self.gradeSchema, "max_tokens": 320,
        ])
        let started = ContinuousClock.now
        let output = try JSON.parse(try instance.invoke(Self.posting.bytes))
        print("llm-grader: one graded posting took \(ContinuousClock.now - started): \(output.text)")
        let answer = try #require(output["answer"])
        let grade = try #require(answer["grade"]?.intValue, "no integer grade in \(answer.text)")
        #expect((1...5).contains(grade))
        #expect(answer["reason"]?.stringValue != nil)
        #expect(output["model"] == "gemma-3-270m")  // the server's --alias, whatever the request said
        #expect(output["usage"]?["completion_tokens"]?.intValue != nil)
    }

    /// A schema need not be an object: the grammar leaves the model one digit to say.
    @Test func aBareIntegerSchemaGivesABareInteger() throws {
        let server = try LLMServer.shared.get()
        let output = try JSON.parse(try grader([
            "endpoint": .string(server.endpoint),
            "prompt": "From 1 to 5, how clearly does this posting state its salary? {{posting.salary}}",
            "schema": ["type": "integer", "minimum": 1, "maximum": 5], "max_tokens": 8,
        ]).invoke(Self.posting.bytes))
        let grade = try #require(output["answer"]?.intValue, "not an integer: \(output.text)")
        #expect((1...5).contains(grade))
    }

    @Test func aMissingTemplateFieldFailsNamingIt() throws {
        let missing = try #require(try failure(["endpoint": "http://127.0.0.1:1/v1", "prompt": "{{posting.title}} by {{posting.employer.name}}"]))
        #expect(missing.status == .invalidInput && missing.message.contains("posting.employer.name"))
    }

    @Test func aRefusedConnectionIsUnavailableNamingTheEndpointAndHowToStartOne() throws {
        let endpoint = "http://127.0.0.1:\(try LLMServer.freePort())/v1"
        let refused = try #require(try failure(["endpoint": .string(endpoint), "prompt": "{{posting.title}}"]))
        #expect(refused.status == .unavailable)
        #expect(refused.message.contains(endpoint) && refused.message.contains("tools/llm start"))
    }

    @Test func tellsRetryableFromFinalFailuresOfTheServer() throws {
        let server = try ChatServer()
        defer { server.stop() }
        func failure(_ mode: String, timeout: Int = 10_000) throws -> ActorFailure? {
            try self.failure(["endpoint": .string("\(server.base)/\(mode)/v1"), "prompt": "{{posting.title}}", "timeout_ms": .integer(timeout)])
        }
        let prose = try #require(try failure("prose"))
        #expect(prose.status == .failed && prose.message.contains("not JSON") && prose.message.contains("Sure! I would rate this posting"))
        let refused = try #require(try failure("400"))
        #expect(refused.status == .failed && refused.message.contains("400") && refused.message.contains("'messages' is malformed"))
        let crashed = try #require(try failure("500"))
        #expect(crashed.status == .unavailable && crashed.message.contains("500") && crashed.message.contains("the model crashed"))
        let slow = try #require(try failure("slow", timeout: 300))
        #expect(slow.status == .unavailable && slow.message.contains("timed out after 300 ms"))
    }

    /// The fixture's echo mode answers with the request it got, so its shape can be checked.
    @Test func sendsTheRenderedPromptSchemaAndBearerToken() throws {
        let server = try ChatServer()
        defer { server.stop() }
        setenv("WAVEHOST_TEST_LLM_KEY", "sk-test-123", 1)
        let output = try JSON.parse(try grader([
            "endpoint": .string("\(server.base)/echo/v1/"), "model": "any-model", "system": "Be brief.",
            "prompt": "{{posting.title}} | {{posting.salary}} | {{posting.salary.min}}", "schema": ["type": "object"],
            "max_tokens": 32, "temperature": .number("0.5"), "api_key": ["secret": "WAVEHOST_TEST_LLM_KEY"],
        ]).invoke(Self.posting.bytes))
        #expect(output["model"] == "fixture-model" && output["usage"]?["total_tokens"] == 2)
        let seen = try #require(output["answer"])
        #expect(seen["authorization"] == "Bearer sk-test-123")
        let request = try #require(seen["request"])
        #expect(request["model"] == "any-model" && request["max_tokens"] == 32 && request["temperature"] == .number("0.5"))
        #expect(request["messages"] == [
            ["role": "system", "content": "Be brief."],
            ["role": "user", "content": #"Senior Backend Engineer (Swift, PostgreSQL) | {"min":72000,"max":88000,"currency":"EUR"} | 72000"#],
        ])
        #expect(request["response_format"] == ["type": "json_schema", "json_schema": ["name": "answer", "schema": ["type": "object"]]])
    }

    /// A loop cut off at max_tokens is retryable, and the engine's retry (its input's `attempt`)
    /// samples afresh: a seed, a temperature and a frequency penalty the first attempt lacked.
    @Test func anAnswerThatLoopsIsRetriedWithFreshSampling() throws {
        let server = try ChatServer()
        defer { server.stop() }
        let config: JSON = ["endpoint": .string("\(server.base)/loop/v1"), "prompt": "{{posting.title}}", "top_p": .number("0.9")]
        let looped = try #require(try failure(config))
        #expect(looped.status == .unavailable, "\(looped)")
        #expect(looped.message.contains("the model's answer repeats itself (\"R&D\" again and again"), "\(looped)")
        var retry = Self.posting
        if case .object(var members) = retry { members.append(("attempt", 2)); retry = .object(members) }
        let output = try JSON.parse(try grader(config).invoke(retry.bytes))
        #expect(output["answer"] == ["summary": "A fine job."])
        let stats = try TestPlugins.run("/usr/bin/env", ["python3", "-c", "import urllib.request; print(urllib.request.urlopen('\(server.base)/last').read().decode())"])
        let sent = try JSON.parse(Array(stats.output.utf8))
        #expect(sent["seed"]?.intValue == 7919 * 2 && sent["top_p"]?.doubleValue == 0.9)
        #expect(sent["temperature"]?.doubleValue == 0.7 && sent["frequency_penalty"]?.doubleValue == 0.5)
    }

    @Test func theEnvironmentOverridesTheDefaultEndpointOnly() throws {
        let server = try ChatServer()
        defer { server.stop() }
        setenv("WAVEHOST_LLM_ENDPOINT", "\(server.base)/echo/v1", 1)
        defer { unsetenv("WAVEHOST_LLM_ENDPOINT") }
        let viaEnvironment = try JSON.parse(try grader(["prompt": "{{posting.title}}"]).invoke(Self.posting.bytes))
        #expect(viaEnvironment["model"] == "fixture-model")
        // Without a schema the answer is still held to JSON.
        #expect(viaEnvironment["answer"]?["request"]?["response_format"] == ["type": "json_object"])
        let explicit = try #require(try failure(["endpoint": .string("\(server.base)/prose/v1"), "prompt": "{{posting.title}}"]))
        #expect(explicit.message.contains("not JSON"))
    }

    @Test func refusesBadConfigNamingTheOption() throws {
        let prompt: JSON = "{{title}}"
        #expect(try configFailure([:])?.contains("\"prompt\" is required") == true)
        #expect(try configFailure(["prompt": "{{title"])?.contains("never closed") == true)
        #expect(try configFailure(["prompt": "{{a..b}}"])?.contains("dotted path") == true)
        #expect(try configFailure(["prompt": prompt, "endpoint": "127.0.0.1:8088"])?.contains("\"endpoint\"") == true)
        #expect(try configFailure(["prompt": prompt, "schema": "object"])?.contains("\"schema\"") == true)
        #expect(try configFailure(["prompt": prompt, "max_tokens": 0])?.contains("\"max_tokens\"") == true)
        #expect(try configFailure(["prompt": prompt, "temperature": 3])?.contains("\"temperature\"") == true)
        #expect(try configFailure(["prompt": prompt, "promt": "x"])?.contains("unknown option \"promt\"") == true)
        #expect(try configFailure(["prompt": prompt, "api_key": "sk-inline"])?.contains("\"api_key\" must be {\"secret\"") == true)
    }

    /// In the sandbox, the variant's network grant is what lets it reach the server.
    @Test func reachesTheServerFromTheSandboxWhenGranted() throws {
        let server = try ChatServer()
        defer { server.stop() }
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
        let plugin = try TestPlugins.loader().load(try TestPlugins.product("LLMGrader"))
        let config: JSON = ["endpoint": .string("\(server.base)/echo/v1"), "prompt": "{{posting.title}}"]
        let pool = WorkerPool(plugin: plugin, config: config.bytes, configuration: configuration)
        let output = try JSON.parse(try pool.invoke(Self.posting.bytes, timeout: .seconds(10)))
        #expect(output["model"] == "fixture-model")
    }

    /// Its own conformance check passes without a model: the example fails before any request.
    @Test func passesItsConformanceCheck() throws {
        let result = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", try TestPlugins.product("LLMGrader")])
        #expect(result.status == 0, "\(result.output)\(result.error)")
    }
}

/// The stand-in chat server (Fixtures/chat_server.py), started for one test and stopped after.
private typealias ChatServer = FixtureServer

private extension FixtureServer {
    init() throws { try self.init("chat_server.py") { [$0] } }
    var base: String { "http://127.0.0.1:\(port)" }
}
