import Foundation
import Testing
@testable import WavehostEngine
import WavehostHash
import WavehostJSON
@testable import WavehostStore

/// The engine on both backends, with real plugins: dependencies, conditions, effects,
/// retries and the audit trail.
@Suite struct EngineTests {
    static let fiveSteps = """
        workflow: five-steps
        steps:
          a: {actor: echo-c, isolation: inprocess, input: subject}
          b: {actor: echo-c, isolation: inprocess, input: subject, after: [a], when: {field: echo.even, equals: true}}
          c: {actor: echo-c, isolation: inprocess, input: subject, after: [b]}
          d: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          e: {actor: echo-c, isolation: inprocess, input: subject, after: [c, d]}
        """

    @Test(arguments: Backend.allCases)
    func everySubjectRunsOnceInDependencyOrderAndARerunDoesNothing(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        let subjects = EngineFixtures.subjects(200) { ["n": .integer($0), "even": .bool($0 % 2 == 0)] }
        let progress = try EngineFixtures.run(Self.fiveSteps, subjects, store: store, catalog: catalog)
        #expect(progress.runsCompleted == 200 && progress.runsFailed == 0)
        // Even subjects run all five steps; odd ones skip b, then c and e that follow it.
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") == 100 * 5 + 100 * 2)
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == 200)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'interaction_started'") == 700)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'interaction_completed'") == 700)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'step_skipped'") == 300)
        let sha = try #require(catalog.versions(of: ["echo-c"]).first?.sha256)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE actor_sha256 = '\(sha)'") == 700)
        #expect(try store.count("SELECT COUNT(*) FROM actor_versions WHERE sha256 = '\(sha)' AND state = 'current'") == 1)
        // e ran after both c and d had completed, for every even subject.
        #expect(try store.count("""
            SELECT COUNT(*) FROM interactions e JOIN steps se ON se.id = e.step_id AND se.name = 'e'
            JOIN interactions c ON c.run_id = e.run_id JOIN steps sc ON sc.id = c.step_id AND sc.name = 'c'
            WHERE c.completed_at > e.started_at
            """) == 0)
        // Every event carries the SHA-256 of its payload.
        for row in try store.rows("SELECT payload, payload_sha256 FROM events") {
            #expect(ContentHash.sha256(of: Array((row[0].text ?? "").utf8)) == row[1].text)
        }

        let again = try EngineFixtures.run(Self.fiveSteps, subjects, store: store, catalog: catalog)
        #expect(again.runsCompleted == 200 && again.interactionsCompleted == 0)
        #expect(try store.count("SELECT COUNT(*) FROM interactions") == 700)
    }

    static func staging(environment: String = "prod", writable: String = "postings", name: String = "stage") -> String {
        """
        workflow: \(name)
        environment: \(environment)
        tables: [\(writable)]
        steps:
          validate:
            actor: staging-validator
            isolation: inprocess
            config: {key: external_id, target: postings, required: [title], min_length: {title: 2}}
            lookup: {table: \(writable), key: external_id}
            retries: {attempts: 3}
        """
    }

    static let postings: [Subject] = [
        ("a-1", "Nurse"), ("b-2", "Welder"), ("a-1", "Nurse (re-post)"), ("c-3", "X"), ("d-4", "Driver"), ("b-2", "Welder again"),
    ].enumerated().map { index, posting in
        Subject(key: "staged-\(index)", payload: ["external_id": .string(posting.0), "title": .string(posting.1)])
    }

    @Test(arguments: Backend.allCases)
    func effectsLandOnceWithTheirInteractionAndDuplicatesAreRefused(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let catalog = try EngineFixtures.catalog(["StagingValidator"], trusting: ["StagingValidator"])
        var options = Engine.Options()
        options.concurrency = 1  // the first copy of a key is the one promoted
        let progress = try EngineFixtures.run(Self.staging(), Self.postings, store: store, catalog: catalog, options: options)
        #expect(progress.runsCompleted == 6)
        let promoted = try store.rows(ofTable: "postings")
        #expect(promoted.map(\.key) == ["a-1", "b-2", "d-4"])
        #expect(promoted.first?.row["title"] == "Nurse", "the first copy wins; the re-post is refused")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'effects_applied'") == 3)
        let verdicts = try store.rows("SELECT output FROM interactions ORDER BY id").compactMap { row -> JSON? in
            guard case .blob(let bytes) = row[0] else { return nil }
            return try JSON.parse(bytes)
        }
        #expect(verdicts.filter { $0["valid"] == false }.count == 3)
        #expect(verdicts.contains { $0["errors"]?.arrayValue?.first?["problem"] == "duplicate: postings already holds a-1" })

        // A test-environment workflow records its effects as skipped and writes nothing.
        let other = try EngineFixtures.store(backend)
        try EngineFixtures.run(Self.staging(environment: "test"), Self.postings, store: other, catalog: catalog, options: options)
        #expect(try other.rows(ofTable: "postings").isEmpty)
        #expect(try other.count("SELECT COUNT(*) FROM events WHERE kind = 'effects_skipped'") == 5)
    }

    @Test(arguments: Backend.allCases)
    func aWriteOutsideTheDeclaredTablesFailsTheInteraction(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let catalog = try EngineFixtures.catalog(["StagingValidator"], trusting: ["StagingValidator"])
        let progress = try EngineFixtures.run(Self.staging(writable: "archive"), Array(Self.postings.prefix(1)), store: store, catalog: catalog)
        #expect(progress.runsFailed == 1)
        let error = try #require(try store.rows("SELECT error FROM interactions").first?.first?.text)
        #expect(error == "effect refused: table postings is not writable in workflow stage (writable: archive)")
        #expect(try store.count("SELECT COUNT(*) FROM interactions") == 1, "a refusal by the workflow is final: no retry")
        #expect(try store.declaredTable("data.postings") == nil && store.count("SELECT COUNT(*) FROM effect_ledger") == 0)
        let runError = try #require(try store.rows("SELECT error FROM runs").first?.first?.text)
        #expect(runError.hasPrefix("step validate failed after 1 attempt: effect refused"))
    }

    @Test func invalidJSONOutputFailsWithTheReasonAndIsRetriedPerPolicy() throws {
        let store = try EngineFixtures.store(.sqlite)
        let invalid = try TestPlugins.misbehaving("INVALID_OUTPUT")
        let catalog = try EngineFixtures.catalog([], files: [invalid], trusting: [invalid])
        let name = try #require(catalog.names.first)
        let progress = try EngineFixtures.run("""
            workflow: garbage
            steps:
              only: {actor: \(name), isolation: inprocess, retries: {attempts: 3, backoff: 10ms}}
            """, EngineFixtures.subjects(2), store: store, catalog: catalog)
        #expect(progress.runsFailed == 2 && progress.interactionsFailed == 6)
        for row in try store.rows("SELECT error, attempt, parent_id FROM interactions") {
            #expect(row[0].text?.contains("not valid JSON") == true || row[0].text?.contains("invalid output") == true, "\(row)")
        }
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE attempt = 3 AND parent_id IS NOT NULL") == 2)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'retry_scheduled'") == 4)
        let runError = try #require(try store.rows("SELECT error FROM runs").first?.first?.text)
        #expect(runError.hasPrefix("step only failed after 3 attempts"))
    }

    @Test func oversizeOutputAndAHangAreFailedInTheSandboxAndRetried() throws {
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog([], files: [try TestPlugins.hostile()])
        let name = try #require(catalog.names.first)
        let progress = try EngineFixtures.run("""
            workflow: hostile
            steps:
              only:
                actor: \(name)
                input: subject
                limits: {output_bytes: 1048576}
                timeout: 2s
                retries: {attempts: 2}
            """, [Subject(key: "huge", payload: ["do": "huge", "bytes": "2000000"]), Subject(key: "loop", payload: ["do": "loop"]),
                  Subject(key: "fine", payload: ["do": "echo"])], store: store, catalog: catalog)
        #expect(progress.runsCompleted == 1 && progress.runsFailed == 2)
        let rows = try store.rows("""
            SELECT r.subject, i.status, i.error FROM interactions i JOIN runs r ON r.id = i.run_id ORDER BY i.id
            """).map { ($0[0].text ?? "", $0[1].text ?? "", $0[2].text ?? "") }
        #expect(rows.filter { $0.0 == "huge" }.count == 2)
        #expect(rows.filter { $0.0 == "huge" }.allSatisfy { $0.1 == "failed" && $0.2.contains("exceeds the limit of 1048576") }, "\(rows)")
        #expect(rows.filter { $0.0 == "loop" }.count == 2)
        #expect(rows.filter { $0.0 == "loop" }.allSatisfy { $0.1 == "timed_out" })
    }

    @Test func aPagedFetchRetriesTheFailedPageAndStagesEveryPostingOnce() throws {
        let pages = TestPlugins.repositoryRoot + "/samples/api"
        let server = try HTTPServer(pages: pages, faults: ["page-2.json": "500", "page-3.json": "slow", "page-4.json": "malformed"])
        defer { server.stop() }
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["HTTPFetcher"])
        let progress = try EngineFixtures.run("""
            workflow: fetch
            subjects: {single: api}
            writable_tables: [staging]
            steps:
              fetch:
                actor: http-fetcher
                network: {allow: ["127.0.0.1:\(server.port)"], schemes: [http]}
                config: {url: "http://127.0.0.1:\(server.port)/faulty/page-1.json", items: data, next: paging.next, timeout_ms: 1000}
                paging: next
                retries: {attempts: 3, backoff: 10ms}
                save: {table: staging, rows: items}
            """, [Subject(key: "api", payload: [:])], store: store, catalog: catalog)
        #expect(progress.runsCompleted == 1)
        let staged = try store.rows(ofTable: "staging")
        #expect(staged.count == 50, "every posting once: pages before a failure are not fetched again")
        #expect(Set(staged.map(\.key)).count == 50)
        let failures = try store.rows("SELECT error FROM interactions WHERE status <> 'completed' ORDER BY id").compactMap { $0[0].text }
        #expect(failures.count == 3)
        #expect(failures[0].contains("page-2.json: the server answered 500"))
        #expect(failures[1].contains("page-3.json: timed out"))
        #expect(failures[2].contains("page-4.json is not valid JSON"))
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") == 5)
        // Each interaction's parent is the one before it: the previous page or the failed try.
        #expect(try store.count("SELECT COUNT(*) FROM interactions i WHERE i.parent_id IS NULL") == 1)
    }

    @Test func eachSubjectMeetsOneWeightedVariantAndTheRecordSaysWhich() throws {
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        try EngineFixtures.run("""
            workflow: two-variants
            steps:
              only:
                variants:
                  - {actor: echo-c, config: {wrap: champion}, weight: 75, isolation: inprocess}
                  - {actor: echo-c, config: {wrap: challenger}, role: challenger, weight: 25, isolation: inprocess}
            """, EngineFixtures.subjects(4000), store: store, catalog: catalog)
        let rows = try store.rows("SELECT v.config, i.output FROM interactions i JOIN variants v ON v.id = i.variant_id")
        #expect(rows.count == 4000)
        var champion = 0
        for row in rows {
            guard case .blob(let output) = row[1], let config = row[0].text else { continue }
            let wrap = try JSON.parse(Array(config.utf8))["wrap"]?.stringValue ?? "?"
            #expect(try JSON.parse(output)[wrap] != nil, "the recorded variant is the one that answered")
            if wrap == "champion" { champion += 1 }
        }
        #expect(abs(Double(champion) / 4000 - 0.75) < 0.03, "\(champion) of 4000 met the champion")
    }

    @Test(arguments: Backend.allCases)
    func shadowVariantsAreRecordedButNeverFeedOnOrWrite(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let catalog = try EngineFixtures.catalog(["StagingValidator", "EchoC"], trusting: ["StagingValidator", "EchoC"])
        let progress = try EngineFixtures.run("""
            workflow: shadowed
            writable_tables: [postings, shadow_postings]
            steps:
              validate:
                variants:
                  - {actor: staging-validator, isolation: inprocess, config: {key: external_id, target: postings}}
                  - {actor: staging-validator, mode: shadow, isolation: inprocess, config: {key: external_id, target: postings, min_length: {title: 100}}}
                  - {actor: staging-validator, mode: shadow, isolation: inprocess, config: {key: external_id, target: shadow_postings}}
              next: {actor: echo-c, isolation: inprocess, after: [validate], input: validate}
            """, (0..<20).map { Subject(key: "p\($0)", payload: ["external_id": .string("p\($0)"), "title": "Nurse"]) },
            store: store, catalog: catalog)
        #expect(progress.runsCompleted == 20)
        // Downstream saw only the live verdicts (the first shadow says invalid to everything).
        for row in try store.rows("SELECT i.output FROM interactions i JOIN steps s ON s.id = i.step_id WHERE s.name = 'next'") {
            guard case .blob(let output) = row[0] else { continue }
            #expect(try JSON.parse(output)["echo"]?["valid"] == true)
        }
        #expect(try store.count("""
            SELECT COUNT(*) FROM interactions s JOIN variants v ON v.id = s.variant_id AND v.mode = 'shadow'
            JOIN interactions l ON l.id = s.parent_id JOIN variants lv ON lv.id = l.variant_id AND lv.mode = 'live'
            WHERE s.input = l.input
            """) == 40, "each shadow ran on its live interaction's input and names it as parent")
        #expect(try store.rows(ofTable: "postings").count == 20)
        #expect(try store.rows(ofTable: "shadow_postings").isEmpty, "a shadow's effects are never applied")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'effects_skipped'") == 20)
    }
}
