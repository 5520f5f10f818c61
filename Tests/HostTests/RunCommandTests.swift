import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// `wavehost run` as a user runs it: the bundled pipeline, and workflow files it must refuse.
@Suite struct RunCommandTests {
    @Test(arguments: [
        ("cycle", """
            workflow: w
            steps:
              a: {actor: echo-c, after: [b]}
              b: {actor: echo-c, after: [a]}
            """, "w.yaml:3:", "the steps form a cycle"),
        ("unknown actor", """
            workflow: w
            steps:
              a: {actor: echo-see}
            """, "w.yaml:3:", "unknown actor \"echo-see\""),
        ("YAML error", """
            workflow: w
            steps:
              a: {actor: echo-c
            """, "w.yaml:4:", "YAML error"),
    ])
    func aBadWorkflowIsRefusedWithItsLineBeforeAnythingRuns(_ name: String, _ yaml: String, _ place: String, _ message: String) throws {
        let folder = try TestPlugins.temporaryDirectory()
        try yaml.write(toFile: folder + "/w.yaml", atomically: true, encoding: .utf8)
        let result = try TestPlugins.run(TestPlugins.cli, ["run", folder + "/w.yaml", "--database", folder + "/w.db",
                                                           "--actor", try TestPlugins.product("EchoC"), "--cache-dir", folder + "/cache"])
        #expect(result.status == 2, "\(name): \(result.error)")
        #expect(result.error.contains(place) && result.error.contains(message), "\(name): \(result.error)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/w.db"), "\(name): nothing ran, no database was made")
    }

    /// A config the actor refuses names the workflow, the step and its line, and says
    /// "create failed" once, with the actor's own reason.
    @Test(arguments: ["process", "inprocess"])
    func aRefusedConfigNamesTheWorkflowStepAndLine(_ isolation: String) throws {
        let folder = try TestPlugins.temporaryDirectory()
        let echo = try TestPlugins.product("EchoC")
        try """
            workflow: refused
            subjects: {single: a}
            steps:
              check:
                actor: echo-c
                isolation: \(isolation)
                config: {nope: 1}
            """.write(toFile: folder + "/w.yaml", atomically: true, encoding: .utf8)
        let result = try TestPlugins.run(TestPlugins.cli, ["run", folder + "/w.yaml", "--database", folder + "/w.db", "--actor", echo,
                                                           "--cache-dir", folder + "/cache", "--trust", try TestPlugins.sha256(echo)])
        #expect(result.status == 3, "\(result.error)")
        #expect(result.error.contains("workflow refused, step check (line 5 of the workflow file), variant echo-c: "), "\(result.error)")
        #expect(result.error.contains(#"unknown config option "nope""#), "\(result.error)")
        #expect(result.error.components(separatedBy: "create failed").count == 2, "once: \(result.error)")
        #expect(!result.error.contains("/cache/") && !result.error.contains("/workers/"), "the author's file only: \(result.error)")
    }

    @Test func theBundledPipelinePromotesTheValidPostingsAndSaysWhyTheModelStepsFailed() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let workflows = TestPlugins.repositoryRoot + "/samples/workflows"
        // Port 9 (discard) has no model server: the LLM steps must fail with that reason.
        let result = try TestPlugins.run("/usr/bin/env", [
            "WAVEHOST_LLM_ENDPOINT=http://127.0.0.1:9/v1", TestPlugins.cli, "run",
            workflows + "/fetch-postings.yaml", workflows + "/job-postings.yaml", "--plugins", TestPlugins.productsDirectory,
            "--database", folder + "/wavehost.db", "--cache-dir", folder + "/cache", "--quiet",
        ])
        #expect(result.status == 5, "some runs failed: \(result.error)")
        for heading in ["Runs", "Interactions", "Steps", "Actors", "Recent errors", "Throughput"] {
            #expect(result.output.contains(heading), "the dashboard shows \(heading)")
        }
        let store = try Store(location: folder + "/wavehost.db")
        #expect(try store.rows(ofTable: "postings_staging").count == 50)
        let promoted = try store.rows(ofTable: "postings")
        #expect(promoted.count == 43, "50 postings less 5 with field faults and 2 re-posts")
        #expect(Set(promoted.map(\.key)).count == 43)
        #expect(!promoted.map(\.key).contains("vellum-502") && !promoted.map(\.key).contains("kestrel-95"))
        let reasons = try store.rows("SELECT DISTINCT error FROM interactions WHERE status = 'failed' AND error LIKE 'actor llm-grader%'")
        #expect(reasons.count == 1)
        #expect(reasons.first?.first?.text?.contains("no model server at http://127.0.0.1:9/v1") == true)
        #expect(try store.count("SELECT COUNT(*) FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE w.name = 'job-postings' AND r.status = 'completed'") == 7,
                "the 7 rejected postings complete (their model steps are skipped); the rest fail on the model")
    }
}
