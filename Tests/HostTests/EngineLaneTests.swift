import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON

/// Lanes: model steps get as many calls at once as their endpoint allows, no more, on threads
/// of their own; a step's `concurrency` overrides that; siblings start together.
@Suite struct EngineLaneTests {
    @Test func stepsGoToTheLaneOfTheirEndpointOrOfTheirOwn() throws {
        let workflow = try EngineFixtures.workflow("""
            workflow: lanes
            steps:
              fetch: {actor: echo-c}
              a: {actor: llm-grader, after: [fetch], config: {endpoint: "http://m:1/v1/", model: x, prompt: p}}
              b: {actor: llm-grader, after: [fetch], config: {endpoint: "http://m:1/v1", model: y, prompt: p}}
              c: {actor: llm-grader, after: [a], concurrency: 2, config: {endpoint: "http://m:1/v1", prompt: p}}
              d: {actor: llm-grader, after: [a], config: {endpoint: "http://other:1/v1", prompt: p}}
              e: {actor: echo-c, after: [d]}
            """)
        let lanes = Lane.plan(workflow, hostThreads: 3, endpointThreads: 5)
        let index = { (name: String) in workflow.steps.firstIndex { $0.name == name }! }
        func lane(_ kind: Lane.Kind) -> Lane? { lanes.first { $0.kind == kind } }
        #expect(lanes.count == 4)
        let host = try #require(lane(.host)), models = try #require(lane(.endpoint("http://m:1/v1")))
        let own = try #require(lane(.step("c")))
        #expect(host.threads == 3 && Set(host.steps) == [index("fetch"), index("e")])
        #expect(models.threads == 5 && Set(models.steps) == [index("a"), index("b")],
                "one lane per endpoint, whatever the trailing slash and the model")
        #expect(own.threads == 2 && own.steps == [index("c")])
        #expect(lane(.endpoint("http://other:1/v1"))?.steps == [index("d")])
        #expect(workflow.steps.map(Lane.model(of:)) == ["", "x", "y", "", "", ""])
    }

    @Test func anEndpointGetsItsLimitAtOnceAndSiblingsRunSideBySide() throws {
        let server = try FixtureServer("chat_server.py") { [$0] }
        defer { server.stop() }
        let endpoint = "http://127.0.0.1:\(server.port)/held/v1"
        let yaml = """
            workflow: lanes
            steps:
              validate: {actor: echo-c, isolation: inprocess}
              summary: {actor: llm-grader, after: [validate], config: {endpoint: "\(endpoint)", model: a, prompt: "{{subject.n}}"}, network: {allow: ["127.0.0.1"], schemes: [http]}}
              skills: {actor: llm-grader, after: [validate], config: {endpoint: "\(endpoint)", model: a, prompt: "{{subject.n}}"}, network: {allow: ["127.0.0.1"], schemes: [http]}}
              grade: {actor: llm-grader, after: [validate], concurrency: 2, config: {endpoint: "\(endpoint)", model: b, prompt: "{{subject.n}}"}, network: {allow: ["127.0.0.1"], schemes: [http]}}
            """
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC", "LLMGrader"], trusting: ["EchoC"])
        var options = Engine.Options()
        options.concurrency = 1
        options.endpointConcurrency = 4
        let progress = try EngineFixtures.run(yaml, EngineFixtures.subjects(12), store: store, catalog: catalog, options: options)
        #expect(progress.runsCompleted == 12 && progress.runsFailed == 0)

        // The most requests the server saw at once, per model: the lane's limit, reached and never passed.
        let stats = try TestPlugins.run("/usr/bin/env", ["python3", "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(server.port)/stats').read().decode())"])
        let most = try JSON.parse(Array(stats.output.utf8))
        #expect(most["a"]?.intValue == 4, "summary and skills share the endpoint's 4: \(most.text)")
        #expect(most["b"]?.intValue == 2, "grade has a lane of its own, of 2: \(most.text)")

        // Each subject's summary and skills were queued together and ran side by side.
        let spans = try store.spans(of: ["summary", "skills"])
        #expect(spans.count == 12)
        for (run, steps) in spans {
            let (summary, skills) = (try #require(steps["summary"]), try #require(steps["skills"]))
            #expect(summary.overlaps(skills), "run \(run): summary \(summary), skills \(skills)")
        }
    }
}
