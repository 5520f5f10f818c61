import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

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
        let promoted = Set(try store.rows(ofTable: "postings").map(\.key))
        #expect(promoted.count == 43)
        let report = try store.status(workflow: "job-postings")
        #expect(report.runs.throughEveryStep == 43, "43 valid postings through validate, summary, skills, ihl and both grades")
        #expect(report.runs.completed == 50)

        // Every answer within its schema (the workflow file's), for every promoted posting.
        let summaries = try answers(store, "posting_summaries")
        let skills = try answers(store, "posting_skills")
        let ihl = try answers(store, "posting_ihl")
        let gradesA = try answers(store, "posting_grade_a"), gradesB = try answers(store, "posting_grade_b")
        // Keyed by the posting's external_id (save's `subject` column), one of each per promoted posting.
        #expect(summaries.count == 43 && Set(summaries.keys) == promoted)
        for table in [skills, ihl, gradesA, gradesB] { #expect(Set(table.keys) == Set(summaries.keys)) }
        for (key, answer) in summaries {
            let text = answer["summary"]?.stringValue
            #expect(text.map { !$0.isEmpty && $0.count <= 300 } == true, "\(key): summary \(answer.text)")
        }
        for (key, answer) in skills {
            let list = answer["skills"]?.arrayValue ?? []
            #expect((1...5).contains(list.count) && list.allSatisfy { $0.stringValue.map { $0.count <= 40 } == true },
                    "\(key): skills \(answer.text)")
        }
        for (key, answer) in ihl {
            #expect(answer["score"]?.intValue.map { (1...5).contains($0) } == true, "\(key): ihl \(answer.text)")
            #expect(["excellent", "good", "fair", "poor"].contains(answer["category"]?.stringValue ?? ""), "\(key): ihl \(answer.text)")
        }
        for (key, answer) in Array(gradesA) + Array(gradesB) {
            #expect(answer["grade"]?.intValue.map { (1...5).contains($0) } == true && answer["reason"]?.stringValue != nil,
                    "\(key): grade \(answer.text)")
        }

        // The plan's report, checked against the store it reads.
        let batch = BatchReport(try #require(try store.batchRecords(workflow: "job-postings")))
        print("model pipeline:\n\(batch.text)")
        #expect(batch.runs == 50 && batch.throughEveryStep == 43 && batch.stoppedByCondition == 7)
        #expect(batch.criteria.first?.verdict == .met)
        let tables = Dictionary(uniqueKeysWithValues: batch.tables.map { ($0.table, $0) })
        for table in ["posting_summaries", "posting_skills", "posting_ihl", "posting_grade_a", "posting_grade_b"] {
            #expect(tables["data." + table]?.rows == 43 && tables["data." + table]?.complete == 43, "\(table): \(String(describing: tables["data." + table]))")
        }
        #expect(batch.siblings.map(\.steps) == [["summary", "skills"], ["grade_a", "grade_b"]])
        var firstStarts: [Int64: [String: Int64]] = [:]
        for row in try store.rows("""
            SELECT i.run_id, s.name, MIN(i.started_at) FROM interactions i JOIN steps s ON s.id = i.step_id \
            WHERE s.name IN ('grade_a', 'grade_b') AND i.attempt = 1 GROUP BY i.run_id, s.name
            """) {
            if let run = row[0].integer, let step = row[1].text, let start = row[2].integer { firstStarts[run, default: [:]][step] = start }
        }
        let gaps = firstStarts.values.compactMap { steps in steps["grade_a"].flatMap { a in steps["grade_b"].map { abs($0 - a) } } }
        #expect(batch.siblings.last?.max == gaps.max(), "the report's largest gap is the store's")
        let timedOut = try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'timed_out'")
        #expect(batch.watchdogInterventions == Int(timedOut))
        let failed = try store.count("SELECT COUNT(*) FROM interactions WHERE status IN ('failed', 'timed_out')")
        #expect(batch.failures.reduce(0) { $0 + $1.count } == Int(failed))

        // summary and skills depend on validate only: for each posting their calls overlap.
        let spans = try store.spans(of: ["summary", "skills"], completedOnly: true)
        let pairs = spans.values.compactMap { steps in steps["summary"].flatMap { a in steps["skills"].map { (a, $0) } } }
        #expect(pairs.count == 43)
        let overlapping = pairs.filter { $0.0.overlaps($0.1) }.count
        print("model pipeline: summary and skills overlapped for \(overlapping) of \(pairs.count) postings")
        // A retried call runs alone, later. A first attempt runs beside its sibling unless the
        // lane had one free thread when both were queued and the first's answer came back
        // before another thread was free (a bounded lane can do that): at most 1 in 20.
        let retried = try store.count("""
            SELECT COUNT(DISTINCT i.run_id) FROM interactions i JOIN steps s ON s.id = i.step_id \
            WHERE s.name IN ('summary', 'skills') AND i.attempt > 1
            """)
        #expect(overlapping >= pairs.count - Int(retried) - max(1, pairs.count / 20), "\(overlapping) of \(pairs.count) overlapped, \(retried) runs retried")
    }

    private func answers(_ store: Store, _ table: String) throws -> [String: JSON] {
        var answers: [String: JSON] = [:]
        for (key, row) in try store.rows(ofTable: table) { answers[key] = row }
        return answers
    }
}
