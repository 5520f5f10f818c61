import Foundation
import Testing
@testable import WavehostDashboard
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostPlugins
@testable import WavehostStore

/// Quality scores as an LLM grader gives them: the real llm-grader plugin, sandboxed,
/// grades each run's summary through a loopback stand-in model (Fixtures/grade_server.py);
/// the step page finds the grader step on its own and plots the grades 1–5.
@Suite struct GraderTests {
    @Test func theStepPageFindsTheGraderAndPlotsItsGrades() throws {
        let server = try GradeServer()
        defer { server.stop() }
        let folder = try DashboardFixtures.temporaryDirectory()
        let store = try Store(location: folder + "/wavehost.db")
        let echo = try DashboardFixtures.product("EchoC")
        let loader = PluginLoader(cache: PluginCache(directory: folder + "/cache"), trust: PluginTrust([try DashboardFixtures.sha256(echo)]))
        let catalog = ActorCatalog(registry: PluginRegistry(loader: loader))
        try catalog.add(echo)
        try catalog.add(try DashboardFixtures.product("LLMGrader"))
        let yaml = """
            workflow: graded
            environment: test
            steps:
              summary:
                input: subject
                variants:
                  - {actor: echo-c, config: {wrap: short}, weight: 50, isolation: inprocess}
                  - {actor: echo-c, config: {wrap: detailed}, role: challenger, weight: 50, isolation: inprocess}
              quality:
                after: [summary]
                actor: llm-grader
                network: {allow: ["127.0.0.1"], schemes: [http]}
                config:
                  endpoint: "http://127.0.0.1:\(server.port)/v1"
                  prompt: "Grade this summary from 1 to 5: {{summary}}"
                  schema: {type: object, required: [grade, reason], properties: {grade: {type: integer, minimum: 1, maximum: 5}, reason: {type: string}}}
            """
        let subjects = (0..<120).map { Subject(key: "g\($0)", payload: ["n": .integer($0)]) }
        let progress = try Engine(store: store, catalog: catalog).run(try WorkflowParser(file: "graded.yaml").parse(yaml), source: yaml, subjects: subjects)
        #expect(progress.runsCompleted == 120, "every run graded: \(progress)")

        let scores = try store.qualityScores(workflow: "graded", step: "summary", graderStep: "quality", field: ["answer", "grade"])
        #expect(scores.count == 2 && scores.values.joined().count == 120)
        let dashboard = Dashboard(store: store, token: "t", backgroundIssues: { [] })
        let html = dashboard.respond(DashboardFixtures.get("/steps/graded/summary")).text
        #expect(html.contains("Quality scores (quality.answer.grade)"), "the grader step is found without ?quality=")
        #expect(seriesPerPlot(html) == [2, 2, 2], "\(seriesPerPlot(html))")
        // One bar per grade per variant: grades 2 to 5 are four bins, ticked by grade.
        let quality = try #require(html.components(separatedBy: "<svg").first { $0.contains("Quality scores") })
        for variant in try store.variants(workflow: "graded", step: "summary") {
            let series = try #require(quality.components(separatedBy: "data-variant=\"\(variant.id)\"").dropFirst().first)
            let bars = (series.components(separatedBy: "</g>").first ?? "").components(separatedBy: "<rect").count - 1
            #expect(bars == 4, "variant \(variant.id): \(bars) bars")
        }
        for grade in 2...5 { #expect(quality.contains(">\(grade)</text>")) }

        let api = try #require(dashboard.respond(DashboardFixtures.get("/api/steps/graded/summary")).json)
        let means = (api["quality"]?["variants"]?.arrayValue ?? []).compactMap { $0["mean"]?.doubleValue }
        #expect(means.count == 2 && abs(means[0] - means[1]) > 0.5, "the stand-in grades the challenger a grade higher: \(means)")
        if Browser.path != nil {
            let file = folder + "/graded.html"
            try html.write(toFile: file, atomically: true, encoding: .utf8)
            try Browser.screenshot(file, name: "graded")
        }
    }
}

/// Fixtures/grade_server.py, started for one test and stopped after.
struct GradeServer {
    let pid: pid_t
    let port: Int

    init() throws {
        let portFile = try DashboardFixtures.temporaryDirectory() + "/port"
        let script = DashboardFixtures.repositoryRoot + "/Tests/WavehostDashboardTests/Fixtures/grade_server.py"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let words: [String] = ["python3", script, portFile]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, "python3", &actions, nil, argv, environ)
        guard spawned == 0 else { throw SetupError("cannot start python3: \(String(cString: strerror(spawned)))") }
        self.pid = pid
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        throw SetupError("the stand-in grade server did not start")
    }

    /// SIGKILL: the test runner's ignored SIGTERM is inherited across exec.
    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
