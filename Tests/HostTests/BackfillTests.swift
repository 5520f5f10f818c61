import Foundation
import Synchronization
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// `wavehost backfill` and `Store.backfill`, on a real SQLite file and a real PostgreSQL
/// server: the dry run counts what the import does, a re-run or a run after kill -9
/// imports nothing twice, the cutover guard, refusals before any write, only the target
/// written, and rebuild reproducing imported rows. Also `applyOutsideInteraction`.
@Suite struct BackfillTests {
    typealias Column = TableSchema.Column

    static let history = TableSchema(
        namespace: "data", name: "history",
        columns: [Column(name: "agent", type: .text), Column(name: "checked_at", type: .timestamp), Column(name: "state", type: .text),
                  Column(name: "triggered_by", type: .text), Column(name: "passing", type: .boolean), Column(name: "detail", type: .json)],
        key: ["agent", "checked_at"], indexes: [["triggered_by"]])

    static let status = TableSchema(
        namespace: "data", name: "status",
        columns: [Column(name: "agent", type: .text), Column(name: "state", type: .text), Column(name: "checked_at", type: .timestamp)],
        key: ["agent"], freshness: "checked_at")

    /// The source row `id` of the old system's history: agent a(id % 4), minute id, odd ids
    /// triggered by the schedule, even ones by a push.
    static func sourceRow(_ id: Int) -> (agent: String, at: String, state: String, trigger: String, passing: Bool) {
        ("a\(id % 4)", String(format: "2026-11-01T%02d:%02d:00Z", id / 60, id % 60), id % 3 == 0 ? "failing" : "passing", id % 2 == 1 ? "schedule" : "push", id % 3 != 0)
    }

    /// A store whose `data.history` and `data.status` are declared, a source table
    /// `old_history` of `count` rows, and one claimed run to commit interactions in.
    private func prepared(_ backend: Backend, count: Int) throws -> (store: Store, location: String, run: Int64, step: Int64) {
        let location = backend == .sqlite ? try TestPlugins.temporaryDirectory() + "/wavehost.db" : try PostgresServer.makeDatabase()
        let store = try Store(location: location)
        let source = "workflow: compliance\nsteps:\n  only: {actor: echo-c}\n"
        let workflow = try store.registerWorkflow(try EngineFixtures.workflow(source), source: source)
        _ = try store.addSubjects(EngineFixtures.subjects(1), workflowID: workflow.id)
        let run = try #require(try store.claimRuns(workflowID: workflow.id, owner: "test", limit: 1, lease: .seconds(600)) { _ in false }.first)
        try store.declareTables([TableDeclaration(schema: Self.history, access: .write), TableDeclaration(schema: Self.status, access: .write)],
                                workflow: "compliance")
        try store.rows(backend == .sqlite
            ? "CREATE TABLE old_history (id INTEGER PRIMARY KEY, agent TEXT, checked_at TEXT, state TEXT, triggered_by TEXT, passing INTEGER, detail TEXT)"
            : "CREATE TABLE old_history (id BIGINT PRIMARY KEY, agent TEXT, checked_at TIMESTAMPTZ, state TEXT, triggered_by TEXT, passing BOOLEAN, detail JSON)")
        for id in 1...max(1, count) where count > 0 {
            let row = Self.sourceRow(id)
            let passing = backend == .sqlite ? (row.passing ? "1" : "0") : (row.passing ? "true" : "false")
            try store.rows("""
                INSERT INTO old_history VALUES (\(id), '\(row.agent)', '\(row.at)', '\(row.state)', '\(row.trigger)', \(passing), '{"n": \(id)}')
                """)
        }
        return (store, location, run.id, try #require(workflow.stepIDs["only"]))
    }

    /// Commits one completed interaction of `run` writing `effects`, which must be applied.
    private func commit(_ store: Store, run: Int64, step: Int64, _ effects: [Effect]) throws {
        let refused = try TableFixtures.commit(store, run: run, step: step, effects)
        #expect(refused == nil, "\(refused ?? "")")
    }

    private func historyRow(_ agent: String, _ at: String, _ trigger: String) -> JSON {
        ["agent": .string(agent), "checked_at": .string(at), "state": "passing", "triggered_by": .string(trigger), "passing": true]
    }

    private func table(_ name: String, _ backend: Backend) -> String { TableSQL.name("data", name, backend.store) }

    @Test(arguments: Backend.allCases)
    func theDryRunCountsWhatTheImportDoesAndASecondRunImportsNothing(_ backend: Backend) throws {
        let (store, _, run, step) = try prepared(backend, count: 40)
        // The new writers, since the cutover: the schedule's first canonical check is the old
        // system's row 31 again (the window both wrote); a manual check took row 10's key.
        try commit(store, run: run, step: step, [try TableFixtures.effect(.insert, Self.history, historyRow("a3", "2026-11-01T00:31:00Z", "schedule")),
                                                 try TableFixtures.effect(.upsert, Self.status, ["agent": "a3", "state": "passing", "checked_at": "2026-11-01T00:31:00Z"])])
        try commit(store, run: run, step: step, [try TableFixtures.effect(.insert, Self.history, historyRow("a2", "2026-11-01T00:10:00Z", "manual"))])
        let statusBefore = try store.rows("SELECT * FROM \(table("status", backend)) ORDER BY agent")
        let hostTables = ["runs", "interactions", "events", "declared_tables"]
        let hostBefore = try hostTables.map { try store.count("SELECT COUNT(*) FROM \($0)") }
        let options = BackfillOptions(sourceID: "id", chunk: 7, pause: .zero, cutover: .init(column: "triggered_by", time: "checked_at"))
        var dry = options
        dry.dryRun = true

        let wouldDo = try store.backfill(into: Self.history, from: .table("old_history"), options: dry)
        #expect(wouldDo.read == 40 && wouldDo.imported == 34 && wouldDo.alreadyImported == 0, "\(wouldDo)")
        #expect(wouldDo.skippedByCutover == ["schedule": 5] && wouldDo.conflicts == 1, "\(wouldDo)")
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend))") == 2, "the dry run wrote nothing")
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger") == 3 && store.count("SELECT COUNT(*) FROM backfills") == 0)

        let did = try store.backfill(into: Self.history, from: .table("old_history"), options: options)
        var expected = wouldDo
        expected.dryRun = false
        #expect(did == expected, "the import did what the dry run said")
        #expect(did.chunks == 6)
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend))") == 36)
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger WHERE origin LIKE 'backfill:old_history:%'") == 34)
        // Each imported row carries its source id, and no interaction as its writer.
        let seven = try store.rows("""
            SELECT _origin, _interaction_id, _run_id FROM \(table("history", backend)) WHERE agent = 'a3' AND state = 'passing' AND _origin IS NOT NULL ORDER BY _origin LIMIT 1
            """)
        #expect(seven.first?[0].text?.hasPrefix("backfill:old_history:") == true && seven.first?[1].integer == 0 && seven.first?[2].integer == 0)
        let imported = try #require(try store.rows(of: Self.history).first { $0.row["checked_at"] == "2026-11-01T00:07:00.000Z" }).row
        #expect(imported["agent"] == "a3" && imported["passing"] == .bool(true) && imported["detail"] == ["n": 7], "\(imported)")
        // The manual check kept its row; the schedule's rows after its first canonical one were not imported.
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend)) WHERE triggered_by = 'manual'") == 1)
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend)) WHERE triggered_by = 'schedule' AND _origin IS NOT NULL") == 15)
        // Only the history table (and the ledger, and the progress) were written.
        #expect(try store.rows("SELECT * FROM \(table("status", backend)) ORDER BY agent") == statusBefore)
        #expect(try hostTables.map { try store.count("SELECT COUNT(*) FROM \($0)") } == hostBefore)

        let again = try store.backfill(into: Self.history, from: .table("old_history"), options: options)
        #expect(again.imported == 0 && again.alreadyImported == 34 && again.skipped == 5 && again.conflicts == 1, "\(again)")
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger WHERE origin LIKE 'backfill:%'") == 34)

        // A rebuild replays the ledger: imported rows are reproduced, their origin too.
        let live = try store.rows("SELECT * FROM \(table("history", backend)) ORDER BY agent, checked_at")
        let intact = try store.rebuildTable("data.history")
        #expect(intact.entries == 36 && intact.inserted + intact.updated + intact.deleted == 0, "\(intact)")
        try store.rows("DELETE FROM \(table("history", backend)) WHERE _origin IS NOT NULL")
        #expect(try store.rebuildTable("data.history").inserted == 34)
        #expect(try store.rows("SELECT * FROM \(table("history", backend)) ORDER BY agent, checked_at") == live)
    }

    /// A first canonical row written while the backfill runs (between its chunks) guards the chunks after it.
    @Test(arguments: Backend.allCases)
    func theGuardSeesFirstRowsWrittenDuringTheBackfill(_ backend: Backend) throws {
        let (store, _, _, _) = try prepared(backend, count: 20)
        let options = BackfillOptions(sourceID: "id", chunk: 5, pause: .zero, cutover: .init(column: "triggered_by", time: "checked_at"))
        let failure = Mutex<String?>(nil)
        let report = try store.backfill(into: Self.history, from: .table("old_history"), options: options) { report in
            guard report.chunks == 1 else { return }
            do {
                try store.applyOutsideInteraction([try TableFixtures.effect(.insert, Self.history, historyRow("zz", Self.sourceRow(11).at, "schedule"))], origin: nil)
            } catch { failure.withLock { $0 = "\(error)" } }
        }
        #expect(failure.withLock { $0 } == nil)
        #expect(report.imported == 15 && report.skippedByCutover == ["schedule": 5] && report.conflicts == 0, "\(report)")
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend))") == 16)
    }

    /// New writers racing the backfill, each writing first rows for value after value: no
    /// row is ever imported for a value whose first canonical row, at or before its time, had
    /// committed before it (ledger order is commit order for one table: SQLite writes one at a
    /// time; on PostgreSQL the chunk holds the table's writers off from its last look to its commit).
    @Test(arguments: Backend.allCases)
    func firstRowsWrittenDuringTheBackfillAreNeverImportedAgain(_ backend: Backend) throws {
        let (store, location, _, _) = try prepared(backend, count: 0)
        let values = 40
        for id in 1...400 {
            let row = Self.sourceRow(id)
            try store.rows("""
                INSERT INTO old_history VALUES (\(id), 'a\(id % 7)', '\(row.at)', 'passing', 't\(id % values)', \(backend == .sqlite ? "1" : "true"), NULL)
                """)
        }
        let writer = try Store(location: location)
        let failure = Mutex<String?>(nil)
        let finished = Mutex(false)
        let done = DispatchSemaphore(value: 0)
        // The writer watches how far the backfill got and writes the first row of the value of
        // a source row in the chunk being imported, at that row's time: right in its window.
        Thread {
            defer { done.signal() }
            var written = Set<Int>()
            while !finished.withLock({ $0 }) {
                do {
                    let position = try writer.rows("SELECT position FROM backfills").first?.first?.text.flatMap { Int($0) } ?? 0
                    let next = position + 2, value = next % values
                    if next <= 400, written.insert(value).inserted {
                        let row: JSON = ["agent": "new", "checked_at": .string(Self.sourceRow(next).at), "state": "passing", "triggered_by": .string("t\(value)")]
                        try writer.applyOutsideInteraction([Effect(operation: .insert, table: Self.history, key: try Self.history.check(row), row: row)], origin: nil)
                    }
                } catch { failure.withLock { $0 = "\(error)" } }
                usleep(300)
            }
        }.start()
        defer { finished.withLock { $0 = true } }
        let report = try store.backfill(into: Self.history, from: .table("old_history"),
                                        options: BackfillOptions(sourceID: "id", chunk: 4, pause: .milliseconds(1), cutover: .init(column: "triggered_by", time: "checked_at")))
        finished.withLock { $0 = true }
        done.wait()
        #expect(failure.withLock { $0 } == nil)
        #expect(report.imported + report.skipped + report.conflicts == 400, "\(report)")
        // Every imported entry against every canonical one committed before it.
        var canonical: [String: [(id: Int64, at: String)]] = [:]
        var late: [String] = []
        for entry in try store.rows("SELECT id, origin, data FROM effect_ledger WHERE table_name = 'data.history' ORDER BY id") {
            let row = try JSON.parse(Array((entry[2].text ?? "").utf8))
            guard let value = row["triggered_by"]?.stringValue, let at = row["checked_at"]?.stringValue.flatMap(TableSchema.timestamp) else { continue }
            if entry[1].text == nil {
                canonical[value, default: []].append((entry[0].integer ?? 0, at))
            } else if canonical[value, default: []].contains(where: { $0.at <= at }) {
                late.append("\(entry[1].text ?? ""): \(value) at \(at)")
            }
        }
        #expect(late.isEmpty, "imported after a first canonical row at or before it had committed: \(late.prefix(5))")
        #expect(report.skipped > 0, "the writer raced the backfill: \(report)")
    }

    @Test(arguments: Backend.allCases)
    func aBadLineOrRowIsRefusedWithItsPlaceBeforeAnythingIsWritten(_ backend: Backend) throws {
        let (store, _, _, _) = try prepared(backend, count: 0)
        let path = try TestPlugins.temporaryDirectory() + "/export.jsonl"
        func line(_ id: Int, passing: String = "true") -> String {
            let row = Self.sourceRow(id)
            return #"{"id": \#(id), "agent": "\#(row.agent)", "checked_at": "\#(row.at)", "state": "\#(row.state)", "triggered_by": "\#(row.trigger)", "passing": \#(passing)}"#
        }
        let lines = [line(1), line(2), "", line(3), "{\"id\": 4, \"agent\": ", line(5), line(6, passing: "\"yes\""), line(7)]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let options = BackfillOptions(sourceID: "id", chunk: 2, pause: .zero)
        let refusal = try #require(throws: StoreError.self) { try store.backfill(into: Self.history, from: .jsonl(path: path), options: options) }
        #expect(refusal.code == .tableRefused)
        #expect(refusal.message.contains("2 source rows of export.jsonl refused") && refusal.message.contains("nothing was imported"), "\(refusal.message)")
        #expect(refusal.message.contains("line 5: not JSON"), "\(refusal.message)")
        #expect(refusal.message.contains("line 7: source id 6: table data.history, column passing: expects true or false, got text"), "\(refusal.message)")
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend))") == 0)
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger") == 0 && store.count("SELECT COUNT(*) FROM backfills") == 0)
        // A repeated source id is refused as well; fixed, the file imports, named by the file.
        try [line(1), line(2), line(2)].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let repeated = try #require(throws: StoreError.self) { try store.backfill(into: Self.history, from: .jsonl(path: path), options: options) }
        #expect(repeated.message.contains("line 3: source id 2 is not unique"), "\(repeated.message)")
        try (1...7).map { line($0) }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let done = try store.backfill(into: Self.history, from: .jsonl(path: path), options: options)
        #expect(done.imported == 7 && done.chunks == 4 && done.importedIDs == (1...7).map(String.init), "\(done)")
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger WHERE origin = 'backfill:export.jsonl:6'") == 1)
        // The same source into another table needs a name of its own: origins are unique in the ledger.
        let elsewhere = TableSchema(namespace: "data", name: "history_copy", columns: Self.history.columns, key: Self.history.key)
        try store.declareTables([TableDeclaration(schema: elsewhere, access: .write)], workflow: "compliance")
        let twice = try #require(throws: StoreError.self) { try store.backfill(into: elsewhere, from: .jsonl(path: path), options: options) }
        #expect(twice.code == .tableRefused && twice.message.contains("was imported into data.history") && twice.message.contains("--source-name"), "\(twice.message)")
        var renamed = options
        renamed.sourceName = "export-copy"
        #expect(try store.backfill(into: elsewhere, from: .jsonl(path: path), options: renamed).imported == 7)
        // A row of a source table that does not fit is refused with its source id, column and type.
        try store.rows("CREATE TABLE other_history (id TEXT, agent TEXT, checked_at TEXT, state INTEGER)")
        try store.rows("INSERT INTO other_history VALUES ('x1', 'a', '2026-11-01T00:00:00Z', 3)")
        let typed = try #require(throws: StoreError.self) {
            try store.backfill(into: Self.history, from: .table("other_history"), options: options)
        }
        #expect(typed.message.contains("source id x1: table data.history, column state: expects text, got an integer"), "\(typed.message)")
    }

    /// A real `wavehost backfill` killed with SIGKILL between chunks, then run again: each
    /// source row lands exactly once, and the second run says it carried on.
    @Test(arguments: Backend.allCases, ["table", "jsonl"])
    func aBackfillKilledPartWayCarriesOnAndImportsEachRowOnce(_ backend: Backend, _ kind: String) throws {
        let (store, location, _, _) = try prepared(backend, count: 200)
        let folder = try TestPlugins.temporaryDirectory()
        var from = ["--from-table", "old_history"]
        if kind == "jsonl" {
            let lines = (1...200).map { id in
                let row = Self.sourceRow(id)
                return #"{"id": \#(id), "agent": "\#(row.agent)", "checked_at": "\#(row.at)", "state": "\#(row.state)", "triggered_by": "\#(row.trigger)", "passing": \#(row.passing)}"#
            }
            try lines.joined(separator: "\n").write(toFile: folder + "/old_history.jsonl", atomically: true, encoding: .utf8)
            from = ["--from-jsonl", folder + "/old_history.jsonl"]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPlugins.cli)
        process.arguments = ["backfill", "history"] + from + ["--source-id", "id", "--chunk", "5", "--pause", "100", "--database", location]
        FileManager.default.createFile(atPath: folder + "/err", contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/err"))
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning, (try? store.count("SELECT COUNT(*) FROM effect_ledger")) ?? 0 < 20 { usleep(5_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "it ended before it was killed")
        let landed = try store.count("SELECT COUNT(*) FROM effect_ledger")
        #expect(landed >= 20 && landed < 200 && landed % 5 == 0, "whole chunks only: \(landed)")
        #expect(try store.count("SELECT COUNT(*) FROM backfills WHERE finished_at IS NULL") == 1)

        let again = try TestPlugins.run(TestPlugins.cli, ["backfill", "history"] + from + ["--source-id", "id", "--chunk", "50", "--pause", "0",
                                                                                          "--database", location])
        #expect(again.status == 0, "\(again.error)")
        #expect(again.output.contains("carried on an interrupted backfill") && again.output.contains("imported \(200 - landed),"), "\(again.output)")
        #expect(try store.count("SELECT COUNT(*) FROM \(table("history", backend))") == 200)
        let name = kind == "jsonl" ? "old_history.jsonl" : "old_history"
        #expect(try store.count("SELECT COUNT(DISTINCT origin) FROM effect_ledger WHERE origin LIKE 'backfill:\(name):%'") == 200)
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger") == 200)

        let third = try TestPlugins.run(TestPlugins.cli, ["backfill", "history"] + from + ["--source-id", "id", "--database", location])
        #expect(third.status == 0 && third.output.contains("imported 0, already imported 200,"), "\(third.output)")
    }

    /// The command as a user meets it: the dry run prints the source ids it would import,
    /// the real run the same counts; a table nobody declares and a missing source exit 2.
    @Test func theCommandsDryRunPrintsWhatTheRunDoes() throws {
        let (store, location, run, step) = try prepared(.sqlite, count: 12)
        try commit(store, run: run, step: step, [try TableFixtures.effect(.insert, Self.history, historyRow("a1", "2026-11-01T00:09:00Z", "schedule"))])
        let arguments = ["backfill", "data.history", "--from-table", "old_history", "--source-id", "id", "--cutover-by", "triggered_by",
                         "--time", "checked_at", "--pause", "0", "--database", location]
        let dry = try TestPlugins.run(TestPlugins.cli, arguments + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.error)")
        #expect(dry.output.contains("would import 10, already imported 0, skipped by cutover 2 (schedule 2), conflicts 0, refused 0"), "\(dry.output)")
        #expect(dry.output.contains("source ids it would import: 1, 2, 3, 4, 5, 6, 7, 8, 10, 12"), "\(dry.output)")
        #expect(dry.output.contains("dry run: nothing was written"))
        let real = try TestPlugins.run(TestPlugins.cli, arguments)
        #expect(real.status == 0 && real.output.contains("imported 10, already imported 0, skipped by cutover 2 (schedule 2), conflicts 0"), "\(real.output)")
        #expect(real.output.contains("source ids imported: 1, 2, 3, 4, 5, 6, 7, 8, 10, 12"), "\(real.output)")
        let missing = try TestPlugins.run(TestPlugins.cli, ["backfill", "nope", "--from-table", "old_history", "--source-id", "id", "--database", location])
        #expect(missing.status == 2 && missing.error.contains("no workflow declares a table data.nope"), "\(missing.error)")
        let noSource = try TestPlugins.run(TestPlugins.cli, ["backfill", "history", "--source-id", "id", "--database", location])
        #expect(noSource.status == 2 && noSource.error.contains("--from-table"), "\(noSource.error)")
        let badTable = try TestPlugins.run(TestPlugins.cli, ["backfill", "history", "--from-table", "no \"such\" table", "--source-id", "id", "--database", location])
        #expect(badTable.status == 2 && badTable.error.contains("no table no \"such\" table"), "\(badTable.error)")
    }

    /// Timestamps of whole seconds in UTC skip Foundation's parser (which cost more than a
    /// backfilled row's write): the quick path gives exactly what the parser gives, and
    /// leaves everything else to it.
    @Test func theQuickTimestampPathAgreesWithTheParser() throws {
        let parser = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000...8_000_000_000, using: &generator)))
            let whole = Date.ISO8601FormatStyle().format(date)
            for text in [whole, whole.replacingOccurrences(of: "Z", with: ".000Z"), whole.replacingOccurrences(of: "Z", with: "+00:00")] {
                let quick = try #require(TableSchema.wholeSecondsUTC(text), "\(text)")
                #expect(quick == parser.format(try parser.parse(whole)), "\(text)")
            }
        }
        for text in ["2024-02-29T12:00:00Z", "2000-02-29T00:00:00Z", "2026-12-31T23:59:59Z"] {
            #expect(TableSchema.wholeSecondsUTC(text) == text.replacingOccurrences(of: "Z", with: ".000Z"))
        }
        for text in ["2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-01T00:60:00Z", "2026-13-01T00:00:00Z", "2026-11-01T24:00:00Z",
                     "2026-11-01T00:00:00.5Z", "2026-11-01T00:00:00+01:00", "2026-11-01 00:00:00Z", "0999-11-01T00:00:00Z", "2026-11-01T00:00:00"] {
            #expect(TableSchema.wholeSecondsUTC(text) == nil, "\(text)")
        }
        #expect(TableSchema.timestamp("2026-11-01T01:00:00+01:00") == "2026-11-01T00:00:00.000Z")
    }

    /// A table declared before `_origin` was a provenance column gets it, null, when declared again.
    @Test(arguments: Backend.allCases)
    func aTableMadeBeforeOriginGetsTheColumn(_ backend: Backend) throws {
        let (store, _, run, step) = try prepared(backend, count: 0)
        try commit(store, run: run, step: step, [try TableFixtures.effect(.upsert, Self.status, ["agent": "a1", "state": "passing", "checked_at": "2026-11-01T00:00:00Z"])])
        try store.rows("ALTER TABLE \(table("status", backend)) DROP COLUMN \"_origin\"")
        #expect(throws: (any Error).self) { try store.rows("SELECT _origin FROM \(table("status", backend))") }
        try store.declareTables([TableDeclaration(schema: Self.status, access: .write)], workflow: "compliance")
        #expect(try store.rows("SELECT _origin FROM \(table("status", backend))") == [[.null]])
        #expect(try store.rebuildTable("data.status").updated == 0)
    }

    @Test(arguments: Backend.allCases)
    func writesOutsideAnInteractionLandWithTheirLedgerOnce(_ backend: Backend) throws {
        let (store, _, _, _) = try prepared(backend, count: 0)
        let agents = TableSchema(namespace: "data", name: "agents", columns: [Column(name: "agent", type: .text), Column(name: "url", type: .text)], key: ["agent"])
        try store.declareTables([TableDeclaration(schema: agents, access: .write)], workflow: "compliance")
        let added = try store.applyOutsideInteraction([try TableFixtures.effect(.insert, agents, ["agent": "a1", "url": "https://a1"]),
                                                       try TableFixtures.effect(.upsert, agents, ["agent": "a2", "url": "https://a2"])], origin: "cli:agents add:1")
        #expect(added == 2)
        #expect(try store.applyOutsideInteraction([try TableFixtures.effect(.insert, agents, ["agent": "a1", "url": "https://a1"])], origin: "cli:agents add:1#1") == 0,
                "an origin the ledger holds applies nothing")
        let ledger = try store.rows("SELECT origin, interaction_id, run_id FROM effect_ledger ORDER BY id")
        #expect(ledger.map { $0[0].text ?? "" } == ["cli:agents add:1#1", "cli:agents add:1#2"], "\(ledger)")
        #expect(ledger.allSatisfy { $0[1].integer == 0 && $0[2].integer == 0 })
        let rows = try store.rows("SELECT agent, _interaction_id, _run_id, _origin FROM \(table("agents", backend)) ORDER BY agent")
        #expect(rows.map { $0[3].text ?? "" } == ["cli:agents add:1#1", "cli:agents add:1#2"] && rows.allSatisfy { $0[1].integer == 0 && $0[2].integer == 0 })
        // A refused write undoes the call's others.
        let conflict = try #require(throws: StoreError.self) {
            try store.applyOutsideInteraction([try TableFixtures.effect(.upsert, agents, ["agent": "a3", "url": "u"]), try TableFixtures.effect(.insert, agents, ["agent": "a1", "url": "u"])],
                                              origin: nil)
        }
        #expect(conflict.code == .statementFailed && conflict.message.contains("already has a row with key a1"), "\(conflict.message)")
        #expect(try store.rows(of: agents).map(\.key) == ["a1", "a2"] && store.count("SELECT COUNT(*) FROM effect_ledger") == 2)
        #expect(try store.applyOutsideInteraction([try TableFixtures.effect(.delete, agents, ["agent": "a2"])], origin: nil) == 1)
        #expect(try store.rows(of: agents).map(\.key) == ["a1"])
        let undeclared = TableSchema(namespace: "data", name: "ghosts", columns: [Column(name: "k", type: .text)], key: ["k"])
        #expect(throws: StoreError.self) { try store.applyOutsideInteraction([try TableFixtures.effect(.insert, undeclared, ["k": "x"])], origin: nil) }
        let reserved = try #require(throws: StoreError.self) {
            try store.applyOutsideInteraction([try TableFixtures.effect(.insert, agents, ["agent": "a9"])], origin: "backfill:x:1")
        }
        #expect(reserved.code == .tableRefused)
        // The ledger rebuilds the same table.
        let live = try store.rows("SELECT * FROM \(table("agents", backend)) ORDER BY agent")
        try store.rows("DELETE FROM \(table("agents", backend))")
        #expect(try store.rebuildTable("data.agents").inserted == 1)
        #expect(try store.rows("SELECT * FROM \(table("agents", backend)) ORDER BY agent") == live)
    }
}
