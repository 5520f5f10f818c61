import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// `wavehost tables …` as a user runs it, and a rebuild killed part way and run again.
@Suite struct TablesCommandTests {
    /// A SQLite store whose table `data.items` has `entries` ledger entries over `keys` keys.
    private func populated(entries: Int, keys: Int) throws -> (path: String, store: Store) {
        let path = try TestPlugins.temporaryDirectory() + "/wavehost.db"
        let store = try Store(location: path)
        let source = "workflow: items\nsteps:\n  only: {actor: echo-c}\n"
        let workflow = try store.registerWorkflow(try EngineFixtures.workflow(source), source: source)
        _ = try store.addSubjects(EngineFixtures.subjects(1), workflowID: workflow.id)
        let run = try #require(try store.claimRuns(workflowID: workflow.id, owner: "test", limit: 1, lease: .seconds(600)) { _ in false }.first)
        let items = TableSchema(namespace: "data", name: "items",
                                columns: [.init(name: "id", type: .integer), .init(name: "label", type: .text), .init(name: "meta", type: .json)],
                                key: ["id"])
        try store.declareTables([TableDeclaration(schema: items, access: .write)], workflow: "items")
        let perInteraction = 1_000
        for first in stride(from: 0, to: entries, by: perInteraction) {
            let id = try #require(try store.reserveInteractionIDs(1).first)
            let effects = try (first..<min(entries, first + perInteraction)).map { index -> Effect in
                let row: JSON = ["id": .integer(index % keys), "label": .string("v\(index)"), "meta": ["n": .integer(index)]]
                return Effect(operation: .upsert, table: items, key: try items.check(row), row: row)
            }
            var batch = JournalBatch(id: UUID().uuidString)
            batch.starts = [InteractionStart(id: id, runID: run.id, stepID: try #require(workflow.stepIDs["only"]), variantID: nil, parentID: nil,
                                             actorSHA256: nil, attempt: 1, input: Array("{}".utf8), startedAt: Store.now(), owner: "test", cause: "test")]
            batch.finishes = [InteractionFinish(id: id, status: .completed, output: Array("{}".utf8), error: nil, completedAt: Store.now(),
                                                latencyMicroseconds: 1, effects: effects, applyEffects: true, runID: run.id)]
            _ = try store.commit(batch)
        }
        return (path, store)
    }

    @Test func listAndShowDescribeTheTables() throws {
        let (path, _) = try populated(entries: 30, keys: 10)
        let list = try TestPlugins.run(TestPlugins.cli, ["tables", "list", "--database", path])
        #expect(list.status == 0, "\(list.error)")
        #expect(list.output.contains("data.items") && list.output.contains("data_items") && list.output.contains(" 10 "), "\(list.output)")
        let show = try TestPlugins.run(TestPlugins.cli, ["tables", "show", "items", "--database", path])
        #expect(show.status == 0 && show.output.contains("id") && show.output.contains("integer") && show.output.contains("key"), "\(show.output)")
        let missing = try TestPlugins.run(TestPlugins.cli, ["tables", "show", "nope", "--database", path])
        #expect(missing.status != 0 && missing.error.contains("no workflow declares a table data.nope"), "\(missing.error)")
    }

    /// A second writer and a retyped column stop `wavehost run` before anything runs, with
    /// the file, workflow and line, and exit 2 (bad input); a reader is let in.
    @Test func aSecondWriterAndARetypeAreRefusedBeforeAnythingRuns() throws {
        let folder = try TestPlugins.temporaryDirectory()
        func file(_ name: String, _ workflow: String, _ tables: String) throws -> String {
            let path = folder + "/\(name).yaml"
            try "workflow: \(workflow)\nsubjects: {single: one}\ntables:\n\(tables)steps:\n  only: {actor: echo-c}\n".write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let agents = "  agents:\n    columns: {agent: text, url: text}\n    key: agent\n"
        let owner = try file("owner", "owner", agents)
        let intruder = try file("intruder", "intruder", agents)
        let reader = try file("reader", "reader", "  agents: read\n")
        let retyped = try file("retyped", "owner", agents.replacingOccurrences(of: "url: text", with: "url: integer"))
        func run(_ files: String...) throws -> TestPlugins.ProcessResult {
            try TestPlugins.run(TestPlugins.cli, ["run"] + files + ["--plugins", TestPlugins.productsDirectory, "--database", folder + "/w.db",
                                                                    "--cache-dir", folder + "/cache", "--quiet"])
        }
        #expect(try run(owner).status == 0)
        let second = try run(reader, intruder)
        #expect(second.status == 2, "\(second.error)")
        #expect(second.error.contains("intruder.yaml: workflow intruder, line 4: table data.agents: written by workflow owner"), "\(second.error)")
        #expect(try Store(location: folder + "/w.db").count("SELECT COUNT(*) FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE w.name = 'reader'") == 0,
                "the reader, first on the line, did not run either")
        #expect(try run(reader).status == 0)
        #expect(try Store(location: folder + "/w.db").count("SELECT COUNT(*) FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE w.name = 'reader'") == 1)
        let retype = try run(retyped)
        #expect(retype.status == 2 && retype.error.contains("column url was retyped from text to integer"), "\(retype.error)")
    }

    /// A database the previous release (eda1c35) wrote — the bundled pipeline with the model
    /// unreachable: 50 staged postings and 43 promoted, as JSON in `effect_rows` — is carried
    /// into the declared tables when the current host runs the pipeline on it, once.
    @Test func aDatabaseOfThePreviousReleaseIsImportedOnce() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let database = folder + "/wavehost.db"
        let unzip = try TestPlugins.run("/bin/sh", ["-c", "gzip -dc '\(TestPlugins.repositoryRoot)/Tests/HostTests/Fixtures/release-eda1c35.db.gz' > '\(database)'"])
        #expect(unzip.status == 0, "\(unzip.error)")
        let workflows = TestPlugins.repositoryRoot + "/samples/workflows"
        func pipeline() throws -> TestPlugins.ProcessResult {
            try TestPlugins.run("/usr/bin/env", ["WAVEHOST_LLM_ENDPOINT=http://127.0.0.1:9/v1", TestPlugins.cli, "run",
                                                 workflows + "/fetch-postings.yaml", workflows + "/job-postings.yaml", "--plugins", TestPlugins.productsDirectory,
                                                 "--database", database, "--cache-dir", folder + "/cache", "--quiet"])
        }
        for _ in 0..<2 {
            let result = try pipeline()
            #expect(result.status == 0, "every run ended under the old release: nothing runs again \(result.error)")
            let store = try Store(location: database)
            #expect(try store.rows(ofTable: "postings_staging").count == 50)
            #expect(try store.rows(ofTable: "postings").count == 43)
            #expect(try store.count("SELECT COUNT(*) FROM effect_ledger WHERE origin LIKE 'effect_rows:%'") == 93, "imported once")
            let row = try #require(try store.row(of: try store.tableSchema("data.postings"), key: "harbourline-208"))
            #expect(row["title"] == "Transport Planner" && row["remote"] == .bool(false) && row["posted_at"] == "2026-10-03T09:15:00.000Z")
            // Migration 11 rebuilt `runs` under its 227 interactions: every run kept, every reference whole.
            #expect(try store.count("SELECT COUNT(*) FROM runs WHERE id <= 51 AND status IN ('completed', 'failed')") == 51)
            #expect(try store.count("SELECT COUNT(*) FROM interactions i JOIN runs r ON r.id = i.run_id WHERE r.id <= 51") == 227)
            #expect(try store.rows("PRAGMA foreign_key_check").isEmpty)
        }
        let rebuilt = try TestPlugins.run(TestPlugins.cli, ["tables", "rebuild", "postings", "--database", database])
        #expect(rebuilt.output.contains("43 rows") && rebuilt.output.contains("the table matched its ledger"), "\(rebuilt.output)")
    }

    /// Killed with SIGKILL after some chunks, a rebuild carries on when run again and ends
    /// with the table its ledger says, byte for byte.
    @Test func aRebuildKilledPartWayCarriesOnAndEndsEqual() throws {
        let (path, store) = try populated(entries: 20_000, keys: 5_000)
        func snapshot() throws -> [[SQLValue]] { try store.rows("SELECT * FROM data_items ORDER BY id") }
        let live = try snapshot()
        try store.rows("UPDATE data_items SET label = 'damaged' WHERE id < 100")
        let folder = try TestPlugins.temporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPlugins.cli)
        process.arguments = ["tables", "rebuild", "items", "--chunk", "20", "--database", path]
        FileManager.default.createFile(atPath: folder + "/out", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/out"))
        try process.run()
        // Wait for a few chunks to land, then kill it.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? String(contentsOfFile: folder + "/out", encoding: .utf8))?.contains("replayed 200 of") != true {
            usleep(2_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: folder + "/out", encoding: .utf8)) ?? ""
        #expect(process.terminationReason == .uncaughtSignal, "it ended before it was killed:\n\(output.suffix(400))")
        #expect(try store.count("SELECT COUNT(*) FROM table_rebuilds") == 1)
        let again = try TestPlugins.run(TestPlugins.cli, ["tables", "rebuild", "items", "--database", path])
        #expect(again.status == 0, "\(again.error)")
        #expect(again.output.contains("carried on an interrupted rebuild") && again.output.contains("updated 100"), "\(again.output)")
        #expect(try snapshot() == live)
        #expect(try store.count("SELECT COUNT(*) FROM table_rebuilds") == 0)
        let third = try TestPlugins.run(TestPlugins.cli, ["tables", "rebuild", "items", "--dry-run", "--database", path])
        #expect(third.output.contains("the table matched its ledger"), "\(third.output)")
    }
}
