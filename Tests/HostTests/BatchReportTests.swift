import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// The batch report over a real run of real actors: what it counts is what the store holds.
/// (The bundled pipeline's report, with the real model, is checked in ModelPipelineTests.)
@Suite struct BatchReportTests {
    @Test func countsRunsFieldsSiblingGapsAndFailuresAsTheStoreHoldsThem() throws {
        let store = try EngineFixtures.store(.sqlite)
        // check → (left, right) → last; odd subjects stop at the condition; left saves its input's
        // subject (echo-c answers {"echo": its input, "bytes": N}).
        let yaml = """
            workflow: batch
            writable_tables: [lefts]
            steps:
              check: {actor: echo-c, isolation: inprocess}
              left:
                actor: echo-c
                isolation: inprocess
                after: [check]
                when: {step: check, field: echo.subject.even, equals: true}
                save: {table: lefts, rows: echo.subject}
              right: {actor: echo-c, isolation: inprocess, after: [check], when: {step: check, field: echo.subject.even, equals: true}}
              last: {actor: echo-c, isolation: inprocess, after: [left, right], input: check.echo}
            """
        let subjects = EngineFixtures.subjects(10) { ["n": .integer($0), "even": .bool($0 % 2 == 0), "note": $0 == 4 ? "" : "x"] }
        let progress = try EngineFixtures.run(yaml, subjects, store: store,
                                              catalog: try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"]))
        #expect(progress.runsCompleted == 10)
        let report = BatchReport(try #require(try store.batchRecords(workflow: "batch")))
        #expect(report.runs == 10 && report.throughEveryStep == 5 && report.stoppedByCondition == 5)
        #expect(report.criteria.first?.figure == "5 of 5 (5 more stopped by a condition)" && report.criteria.first?.verdict == .met)
        // Subject 4's note is empty: its row is not complete.
        let lefts = try #require(report.tables.first { $0.table == "data.lefts" })
        #expect(lefts.rows == 5 && lefts.complete == 4 && lefts.fields == ["n", "even", "note"])
        #expect(report.siblings.map(\.steps) == [["left", "right"]] && report.siblings.first?.runs == 5)
        let starts = try store.rows("""
            SELECT i.run_id, MAX(i.started_at) - MIN(i.started_at) FROM interactions i JOIN steps s ON s.id = i.step_id \
            WHERE s.name IN ('left', 'right') GROUP BY i.run_id
            """).compactMap { $0[1].integer }
        #expect(report.siblings.first?.max == starts.max())
        #expect(report.watchdogInterventions == 0 && report.failures.isEmpty)
        let total = try store.count("SELECT MAX(completed_at) - MIN(started_at) FROM interactions")
        #expect(report.totalMilliseconds == Int64(total))
        #expect(report.text.contains("fields populated: data.lefts  4 of 5 rows, 3 fields"), "\(report.text)")
        #expect(report.json["through_every_step"] == 5)
        #expect(try store.batchRecords(workflow: "nope") == nil)
    }

    @Test func aFailureCountsOnceByItsCauseAndATimeoutAsAnIntervention() throws {
        let store = try EngineFixtures.store(.sqlite)
        let script = try TestPlugins.temporaryDirectory() + "/sleepy.py"
        try "import time\ntime.sleep(5)\n".write(toFile: script, atomically: true, encoding: .utf8)
        _ = try EngineFixtures.run("""
            workflow: slow
            steps:
              wait: {actor: sleepy, timeout: 200ms, retries: {attempts: 2}}
            """, EngineFixtures.subjects(2), store: store, catalog: try EngineFixtures.catalog([], files: [script]))
        let report = BatchReport(try #require(try store.batchRecords(workflow: "slow")))
        #expect(report.runs == 2 && report.throughEveryStep == 0)
        #expect(report.watchdogInterventions == 4, "two attempts of two runs, each cut at its deadline")
        #expect(report.failures.count == 1 && report.failures.first?.count == 4 && report.failures.first?.step == "wait", "\(report.failures)")
        #expect(report.failures.first?.cause == "actor sleepy: timed out after N ms; the script was killed", "\(report.failures)")
        #expect(report.criteria.last?.verdict == .met, "4 is fewer than 5")
    }
}
