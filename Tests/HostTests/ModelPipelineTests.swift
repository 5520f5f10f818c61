import Foundation
@testable import Host
import Testing
import WavehostJSON

/// The main job as `tools/run` runs it, with the real local model: the bundled pipeline over
/// the 50 sample postings. Slow (about a hundred model calls), so this is the one such test.
@Suite(.serialized) struct ModelPipelineTests {
    @Test func everyValidPostingGoesThroughEveryModelStepWithSiblingsSideBySide() throws {
        let server = try LLMServer.shared.get()
        let folder = try TestPlugins.temporaryDirectory()
        let workflows = TestPlugins.repositoryRoot + "/samples/workflows"
        let started = ContinuousClock.now
        let result = try TestPlugins.run("/usr/bin/env", [
            "WAVEHOST_LLM_ENDPOINT=\(server.endpoint)", TestPlugins.cli, "run",
            workflows + "/fetch-postings.yaml", workflows + "/job-postings.yaml", "--plugins", TestPlugins.productsDirectory,
            "--database", folder + "/wavehost.db", "--cache-dir", folder + "/cache", "--quiet",
        ])
        print("model pipeline: 50 postings in \(ContinuousClock.now - started)")
        #expect(result.status == 0, "every run completed: \(result.output.suffix(3000))\(result.error)")

        let store = try Store(location: folder + "/wavehost.db")
        let promoted = Set(try store.effectRows(table: "postings").map(\.key))
        #expect(promoted.count == 43)
        let report = try store.status(workflow: "job-postings")
        #expect(report.runs.throughEveryStep == 43, "43 valid postings through validate, summary, skills and quality")
        #expect(report.runs.completed == 50)

        // Every answer within its schema (the workflow file's), for every promoted posting.
        let summaries = try answers(store, "posting_summaries")
        let skills = try answers(store, "posting_skills")
        let grades = try answers(store, "posting_grades")
        // Keyed by subject (the staged row), one of each per promoted posting.
        #expect(summaries.count == 43 && Set(skills.keys) == Set(summaries.keys) && Set(grades.keys) == Set(summaries.keys))
        for (key, answer) in summaries {
            let text = answer["summary"]?.stringValue
            #expect(text.map { !$0.isEmpty && $0.count <= 300 } == true, "\(key): summary \(answer.text)")
        }
        for (key, answer) in skills {
            let list = answer["skills"]?.arrayValue ?? []
            #expect((1...5).contains(list.count) && list.allSatisfy { $0.stringValue.map { $0.count <= 40 } == true },
                    "\(key): skills \(answer.text)")
        }
        for (key, answer) in grades {
            #expect(answer["grade"]?.intValue.map { (1...5).contains($0) } == true && answer["reason"]?.stringValue != nil,
                    "\(key): grade \(answer.text)")
        }

        // summary and skills depend on validate only: for each posting their calls overlap.
        let spans = try store.spans(of: ["summary", "skills"], completedOnly: true)
        let pairs = spans.values.compactMap { steps in steps["summary"].flatMap { a in steps["skills"].map { (a, $0) } } }
        #expect(pairs.count == 43)
        let overlapping = pairs.filter { $0.0.overlaps($0.1) }.count
        print("model pipeline: summary and skills overlapped for \(overlapping) of \(pairs.count) postings")
        // A retried call runs alone, later; every first attempt ran beside its sibling.
        let retried = try store.count("""
            SELECT COUNT(DISTINCT i.run_id) FROM interactions i JOIN steps s ON s.id = i.step_id \
            WHERE s.name IN ('summary', 'skills') AND i.attempt > 1
            """)
        #expect(overlapping >= pairs.count - Int(retried), "\(overlapping) of \(pairs.count) overlapped, \(retried) runs retried")
    }

    private func answers(_ store: Store, _ table: String) throws -> [String: JSON] {
        var answers: [String: JSON] = [:]
        for (key, row) in try store.effectRows(table: table) { answers[key] = row }
        return answers
    }
}
