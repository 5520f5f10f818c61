import Testing
import WavehostEngine
import WavehostJSON

@Suite struct WorkflowParserTests {
    private let parser = WorkflowParser(file: "jobs.yaml", knownActors: ["fetcher", "validator", "grader", "saver"])

    private func refusal(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> WorkflowError? {
        do {
            _ = try parser.parse(yaml)
            Issue.record("expected the workflow to be refused", sourceLocation: sourceLocation)
            return nil
        } catch { return error }
    }

    @Test func aGoodWorkflowIsReadInDependencyOrderWithDefaults() throws {
        let workflow = try parser.parse("""
            workflow: job-postings
            environment: test
            writable_tables: [postings]
            steps:
              grade:
                after: [validate]
                when: {field: verdict.valid, equals: true}
                timeout: 2m
                retries: {attempts: 3, backoff: 500ms}
                variants:
                  - actor: grader
                    config: {model: gemma3-270m, temperature: 0.2, stop: [null, "END"]}
                    weight: 90
                  - actor: grader
                    config: {model: other}
                    role: challenger
                    weight: 10
                  - actor: grader
                    mode: shadow
                    limits: {memory_mb: 256}
              fetch:
                actor: fetcher
                config: {url: "file://samples/postings.jsonl", page_size: 10}
              validate:
                after: [fetch]
                actor: validator
                isolation: inprocess
            """)
        #expect(workflow.name == "job-postings")
        #expect(workflow.environment == .test)
        #expect(workflow.writableTables == ["postings"])
        #expect(workflow.steps.map(\.name) == ["fetch", "validate", "grade"])
        let fetch = try #require(workflow.step(named: "fetch"))
        #expect(fetch.timeoutMilliseconds == 30_000 && fetch.retry == .none)
        #expect(fetch.variants.first?.config == ["url": "file://samples/postings.jsonl", "page_size": 10])
        #expect(workflow.step(named: "validate")?.variants.first?.isolation == .inprocess)
        let grade = try #require(workflow.step(named: "grade"))
        #expect(grade.timeoutMilliseconds == 120_000)
        #expect(grade.retry == .init(attempts: 3, backoffMilliseconds: 500))
        #expect(grade.variants.map(\.role) == [.champion, .challenger, .champion])
        #expect(grade.variants.map(\.weight) == [90, 10, 100])
        #expect(grade.variants.last?.mode == .shadow)
        #expect(grade.variants.first?.config["stop"] == [nil, "END"])
        #expect(grade.variants.first?.config["temperature"]?.doubleValue == 0.2)
        let condition = try #require(grade.condition)
        #expect(condition.step == "validate")
        #expect(condition.holds(for: ["verdict": ["valid": true]]))
        #expect(!condition.holds(for: ["verdict": ["valid": false]]))
        #expect(!condition.holds(for: [:]))
    }

    @Test func aCycleIsRefusedNamingItAndItsLine() throws {
        let error = try #require(refusal("""
            workflow: w
            steps:
              a:
                actor: fetcher
                after: [c]
              b:
                actor: fetcher
                after: [a]
              c:
                actor: fetcher
                after: [b]
            """))
        #expect(error.message == "the steps form a cycle: a → c → b → a")
        #expect(error.line == 3, "the line of step a's name")
        #expect(error.description.hasPrefix("jobs.yaml:3:"))
    }

    @Test(arguments: [
        ("workflow: w\nsteps:\n  a:\n    actor: fetcher\n    after: [nope]\n", 5, "comes after \"nope\", which is not a step"),
        ("workflow: w\nsteps:\n  a:\n    actor: mystery\n", 4, "unknown actor \"mystery\""),
        ("workflow: w\nsteps:\n  a:\n    actor: fetcher\n    timeout: soon\n", 5, "\"soon\" is not a duration"),
        ("workflow: w\nsteps:\n  a:\n    actor: fetcher\n    retrys: 3\n", 5, "unknown key \"retrys\""),
        ("workflow: w\nsteps:\n  a:\n    variants:\n      - actor: fetcher\n        weight: -1\n", 6, "weight must be a whole number"),
        ("workflow: w\nsteps:\n  a:\n    variants:\n      - actor: fetcher\n        mode: shadow\n", 3, "at least one live variant"),
        ("workflow: w\nsteps:\n  a:\n    actor: fetcher\n  b:\n    actor: grader\n    when: {step: a, field: x, equals: 1}\n", 7,
         "when reads \"a\", which its input will not hold: step a is not among the steps b comes after"),
        ("workflow: w\nsteps:\n  a:\n    actor: fetcher\n  b:\n    actor: grader\n    after: [a]\n    input: summary.text\n", 8,
         "input reads \"summary\", which its input will not hold: the input holds a, attempt, subject"),
        ("workflow: w\nsteps:\n  a:\n    actor: fetcher\n    limits: {memroy_mb: 1}\n", 5, "unknown limit \"memroy_mb\""),
        ("workflow: w\nsteps:\n  a: {actor: fetcher\n", 4, "YAML error"),
        ("workflow: w\nenvironment: staging\nsteps:\n  a:\n    actor: fetcher\n", 2, "environment: \"staging\" is not allowed"),
        ("workflow: w\nevery: 500ms\nsteps:\n  a:\n    actor: fetcher\n", 2, "every: a heartbeat of at least 1s"),
        ("workflow: w\nevery: hourly\nsteps:\n  a:\n    actor: fetcher\n", 2, "every: \"hourly\" is not a duration"),
    ] as [(String, Int, String)])
    func faultsAreRefusedWithTheirLine(_ yaml: String, _ line: Int, _ expected: String) throws {
        let error = try #require(refusal(yaml))
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(expected), "\(error)")
    }

    /// A step's input holds every ancestor's output, so a grade two steps down may quote the
    /// summary; a template naming a step that is not an ancestor is refused with its line.
    @Test func templatesMayReadAncestorsAndNothingElse() throws {
        let templates = ["grader": Set(["prompt"])]
        let yaml = """
            workflow: w
            steps:
              summary: {actor: grader, config: {prompt: "Sum {{subject.title}}"}}
              ihl: {actor: grader, after: [summary], config: {prompt: "Rate {{summary.answer}}"}}
              grade_a: {actor: grader, after: [ihl], config: {prompt: "{{summary.answer}} {{ihl.answer.score}} try {{attempt}}"}}
              grade_b:
                actor: grader
                after: [summary]
                config: {prompt: "{{ihl.answer.score}}"}
            """
        let parser = WorkflowParser(file: "jobs.yaml", knownActors: ["grader"], templateFields: templates)
        let error = try #require(throws: WorkflowError.self) { try parser.parse(yaml) }
        #expect(error.line == 9, "the prompt's own line: \(error)")
        #expect(error.message.contains("config prompt (actor grader) reads \"ihl\", which its input will not hold: step ihl is not among the steps grade_b comes after"), "\(error)")
        let fixed = try parser.parse(yaml.replacingOccurrences(of: "after: [summary]\n    config: {prompt: \"{{ihl", with: "after: [ihl]\n    config: {prompt: \"{{ihl"))
        #expect(fixed.ancestors(of: fixed.steps.firstIndex { $0.name == "grade_a" }!).map { fixed.steps[$0].name } == ["summary", "ihl"])
        #expect(WorkflowParser.templateRoots("a {{ x.y }} b {{z}} {{") == ["x", "z"])
    }

    @Test func emptyAndMissingFilesAreRefused() {
        #expect(refusal("")?.message == "the workflow file is empty")
        #expect(refusal("steps: {}\n")?.message.contains("missing \"workflow\"") == true)
        #expect(throws: WorkflowError.self) { try WorkflowParser(file: "/nonexistent/w.yaml").parseFile() }
    }
}
