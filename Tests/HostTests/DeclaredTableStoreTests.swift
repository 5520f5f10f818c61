import Foundation
import Synchronization
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// Declared tables in the store, on a real SQLite file and a real PostgreSQL server: typed
/// columns, evolution, one writer, typed effects through the commit, the ledger, rebuild.
@Suite struct DeclaredTableStoreTests {
    typealias Column = TableSchema.Column

    static let postings = TableSchema(
        namespace: "data", name: "postings",
        columns: [Column(name: "external_id", type: .text), Column(name: "title", type: .text, required: true),
                  Column(name: "salary", type: .integer), Column(name: "score", type: .real), Column(name: "remote", type: .boolean),
                  Column(name: "posted_at", type: .timestamp), Column(name: "extra", type: .json)],
        key: ["external_id"], indexes: [["title"]])

    static let status = TableSchema(
        namespace: "data", name: "status",
        columns: [Column(name: "agent", type: .text), Column(name: "state", type: .text), Column(name: "checked_at", type: .timestamp)],
        key: ["agent"], freshness: "checked_at")

    /// A store with one workflow and `count` claimed runs.
    private func prepared(_ backend: Backend, runs count: Int = 4) throws -> (Store, runIDs: [Int64], stepID: Int64) {
        let store = try EngineFixtures.store(backend)
        let source = "workflow: tables\nsteps:\n  only: {actor: echo-c}\n"
        let workflow = try store.registerWorkflow(try EngineFixtures.workflow(source), source: source)
        _ = try store.addSubjects(EngineFixtures.subjects(count), workflowID: workflow.id)
        let runs = try store.claimRuns(workflowID: workflow.id, owner: "test", limit: count, lease: .seconds(60)) { _ in false }
        return (store, runs.map(\.id), try #require(workflow.stepIDs["only"]))
    }

    private func declare(_ store: Store, _ schema: TableSchema, by workflow: String = "owner",
                         access: TableDeclaration.Access = .write, writers: [String] = [], line: Int = 7) throws {
        try store.declareTables([TableDeclaration(schema: schema, access: access, writers: writers, line: line)], workflow: workflow)
    }

    @Test(arguments: Backend.allCases)
    func tablesAreCreatedWithTheirDeclaredTypesApartFromTheHosts(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        // A user table named like the host's own audit log stays apart from it.
        let events = TableSchema(namespace: "data", name: "events", columns: [Column(name: "id", type: .integer), Column(name: "note", type: .text)], key: ["id"])
        try store.declareTables([TableDeclaration(schema: Self.postings, access: .write), TableDeclaration(schema: events, access: .write)], workflow: "owner")
        let types: [String: String]
        if backend == .sqlite {
            types = Dictionary(uniqueKeysWithValues: try store.rows("SELECT name, type FROM pragma_table_info('data_postings')").map { ($0[0].text!, $0[1].text!) })
            #expect(types["salary"] == "INTEGER" && types["score"] == "REAL" && types["posted_at"] == "TEXT")
        } else {
            types = Dictionary(uniqueKeysWithValues: try store.rows("""
                SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'data' AND table_name = 'postings'
                """).map { ($0[0].text!, $0[1].text!) })
            #expect(types["salary"] == "bigint" && types["score"] == "double precision" && types["remote"] == "boolean")
            #expect(types["posted_at"] == "timestamp with time zone" && types["extra"] == "json")
        }
        #expect(Set(types.keys) == Set(Self.postings.columns.map(\.name) + TableSchema.provenanceColumns))
        // The host's events table is untouched by the user's.
        let hostEvents = backend == .sqlite ? "events" : "public.events"
        #expect(try store.count("SELECT COUNT(*) FROM \(hostEvents)") == 0)
        #expect(try store.count("SELECT COUNT(*) FROM \(TableSQL.name("data", "events", backend.store))") == 0)
    }

    @Test(arguments: Backend.allCases)
    func aColumnAddedIsAddedAndAChangeIsRefusedWithItsLine(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        try declare(store, Self.postings)
        var added = Self.postings
        added.columns.append(Column(name: "city", type: .text))
        added.indexes.append(["city"])
        try declare(store, added)
        #expect(try store.declaredTable("data.postings")?.schema.column(named: "city") != nil)

        var retyped = added
        retyped.columns[2].type = .text
        let refusal = try #require(throws: StoreError.self) { try declare(store, retyped, line: 12) }
        #expect(refusal.code == .tableRefused)
        #expect(refusal.message.contains("line 12") && refusal.message.contains("salary") && refusal.message.contains("retyped from integer to text"))
        var removed = added
        removed.columns.removeLast()
        #expect(throws: StoreError.self) { try declare(store, removed) }
        var rekeyed = added
        rekeyed.key = ["title"]
        #expect(throws: StoreError.self) { try declare(store, rekeyed) }
        var required = added
        required.columns.append(Column(name: "country", type: .text, required: true))
        #expect(throws: StoreError.self) { try declare(store, required) }
        // Nothing a refusal saw was changed.
        #expect(try store.declaredTable("data.postings")?.schema == added)
    }

    @Test(arguments: Backend.allCases)
    func oneWriterPerTable(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let readOnly = TableSchema(namespace: "data", name: "postings", columns: [], key: [])
        let early = try #require(throws: StoreError.self) { try declare(store, readOnly, by: "reader", access: .read) }
        #expect(early.message.contains("no workflow declares it writable"))
        try declare(store, Self.postings, by: "owner", writers: ["helper"])
        let second = try #require(throws: StoreError.self) { try declare(store, Self.postings, by: "intruder") }
        #expect(second.message.contains("written by workflow owner") && second.message.contains("`read`"))
        try declare(store, readOnly, by: "reader", access: .read)
        try declare(store, Self.postings, by: "helper")
        let users = try #require(try store.declaredTables().first { $0.schema.name == "postings" }).users
        #expect(users.map(\.workflow) == ["helper", "owner", "reader"])
        #expect(users.map(\.access) == [.write, .write, .read])
    }

    @Test(arguments: Backend.allCases)
    func effectsAreTypedAndHostileValuesStayValues(_ backend: Backend) throws {
        let (store, runs, step) = try prepared(backend)
        try declare(store, Self.postings)
        let hostile = "x'); DROP TABLE runs; -- \"quoted\" \\ back\nline \u{1F600}"
        let row: JSON = ["external_id": .string(hostile), "title": .string(hostile + "\u{0}nul"), "salary": .integer(Int64.max),
                         "score": .double(0.125), "remote": .bool(true), "posted_at": "2026-12-01T21:30:00+01:00",
                         "extra": ["nested": [.string(hostile), .null, .bool(false)]]]
        #expect(try TableFixtures.commit(store, run: runs[0], step: step, [try TableFixtures.effect(.insert, Self.postings, row)]) == nil)
        let stored = try #require(try store.row(of: Self.postings, key: hostile))
        #expect(stored["title"]?.stringValue == hostile + #"\u0000nul"#)
        #expect(stored["salary"] == .integer(Int64.max) && stored["score"] == .double(0.125) && stored["remote"] == .bool(true))
        #expect(stored["posted_at"]?.stringValue == "2026-12-01T20:30:00.000Z")
        #expect(stored["extra"] == ["nested": [.string(hostile), .null, .bool(false)]])
        #expect(try store.count("SELECT COUNT(*) FROM runs") == 4)
        // Provenance: which interaction and run wrote it.
        let provenance = try store.rows("SELECT _run_id, _interaction_id FROM \(TableSQL.name("data", "postings", backend.store))")
        #expect(provenance.first?[0].integer == runs[0])
        // An insert of a key that exists is refused and undoes the interaction's effects.
        let refusal = try TableFixtures.commit(store, run: runs[1], step: step, [try TableFixtures.effect(.upsert, Self.postings, ["external_id": "other", "title": "t"]),
                                                                    try TableFixtures.effect(.insert, Self.postings, row)])
        #expect(refusal?.contains("already has a row") == true)
        #expect(try store.rows(of: Self.postings).count == 1)
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger") == 1)
        // Values the column types refuse, named with the column and the types.
        for (column, value, expected) in [("salary", JSON.string("12"), "an integer"), ("remote", .integer(1), "true or false"),
                                          ("posted_at", .string("yesterday"), "a timestamp"), ("score", .string("x"), "a number"),
                                          ("title", .integer(3), "text")] {
            let error = try #require(throws: TableValueError.self) {
                try Self.postings.check(["external_id": "k", "title": "t", .init(column): value])
            }
            #expect(error.column == column && error.description.contains(expected))
        }
        let undeclared = try #require(throws: TableValueError.self) { try Self.postings.check(["external_id": "k", "title": "t", "_run_id": 1]) }
        #expect(undeclared.description.contains("no such column"))
        // A delete takes only the key.
        #expect(try TableFixtures.commit(store, run: runs[2], step: step, [try TableFixtures.effect(.delete, Self.postings, ["external_id": .string(hostile)])]) == nil)
        #expect(try store.rows(of: Self.postings).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func anOlderEventArrivingLaterNeverOverwritesANewerOne(_ backend: Backend) throws {
        let (store, runs, step) = try prepared(backend)
        try declare(store, Self.status)
        try TableFixtures.commit(store, run: runs[0], step: step, [try TableFixtures.effect(.upsert, Self.status, ["agent": "a", "state": "new", "checked_at": "2026-12-01T10:00:00Z"])])
        try TableFixtures.commit(store, run: runs[1], step: step, [try TableFixtures.effect(.upsert, Self.status, ["agent": "a", "state": "old", "checked_at": "2026-12-01T09:00:00Z"])])
        #expect(try store.row(of: Self.status, key: "a")?["state"] == "new")
        try TableFixtures.commit(store, run: runs[2], step: step, [try TableFixtures.effect(.upsert, Self.status, ["agent": "a", "state": "newer", "checked_at": "2026-12-01T10:00:01Z"])])
        #expect(try store.row(of: Self.status, key: "a")?["state"] == "newer")
        // The ledger holds all three; a rebuild reaches the same row.
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger") == 3)
        _ = try store.rebuildTable("data.status")
        #expect(try store.row(of: Self.status, key: "a")?["state"] == "newer")
    }

    /// Many interactions in one commit: their rows go as few statements, in order (the last
    /// write of a key wins), and one refused interaction leaves the others applied.
    @Test(arguments: Backend.allCases)
    func aBatchOfInteractionsAppliesTogetherAndRefusesOnlyTheFaultyOne(_ backend: Backend) throws {
        let (store, runs, step) = try prepared(backend)
        try declare(store, Self.postings)
        #expect(try TableFixtures.commit(store, run: runs[0], step: step, [try TableFixtures.effect(.insert, Self.postings, ["external_id": "taken", "title": "first"])]) == nil)
        let ids = Array(try store.reserveInteractionIDs(30))
        var batch = JournalBatch(id: UUID().uuidString)
        for (index, id) in ids.enumerated() {
            let row: JSON = ["external_id": .string("k\(index % 10)"), "title": .string("v\(index)")]
            var effects = [try TableFixtures.effect(.upsert, Self.postings, row)]
            if index == 17 { effects.append(try TableFixtures.effect(.insert, Self.postings, ["external_id": "taken", "title": "again"])) }
            batch.starts.append(InteractionStart(id: id, runID: runs[1], stepID: step, variantID: nil, parentID: nil, actorSHA256: nil, attempt: 1,
                                                 input: Array("{}".utf8), startedAt: Store.now(), owner: "test", cause: "test"))
            batch.finishes.append(InteractionFinish(id: id, status: .completed, output: Array("{}".utf8), error: nil, completedAt: Store.now(),
                                                    latencyMicroseconds: 1, effects: effects, applyEffects: true, runID: runs[1]))
        }
        let outcome = try store.commit(batch)
        #expect(outcome.refused.keys.sorted() == [ids[17]])
        let titles = Dictionary(uniqueKeysWithValues: try store.rows(of: Self.postings).map { ($0.key, $0.row["title"]?.stringValue ?? "") })
        #expect(titles["k7"] == "v27" && titles["k0"] == "v20" && titles["taken"] == "first", "\(titles)")
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger") == 1 + 29)
        #expect(try store.rebuildTable("data.postings").updated == 0)
    }

    /// An effect that breaks a reference is refused with its interaction; the batch around it lands.
    @Test(arguments: Backend.allCases)
    func aBrokenReferenceIsTheInteractionsRefusalNotTheBatchs(_ backend: Backend) throws {
        let (store, runs, step) = try prepared(backend)
        let grades = TableSchema(namespace: "data", name: "grades", columns: [Column(name: "external_id", type: .text), Column(name: "grade", type: .integer)],
                                 key: ["external_id"], references: [.init(column: "external_id", table: "data.postings", targetColumn: "external_id")])
        try store.declareTables([TableDeclaration(schema: Self.postings, access: .write), TableDeclaration(schema: grades, access: .write)], workflow: "owner")
        #expect(try TableFixtures.commit(store, run: runs[0], step: step, [try TableFixtures.effect(.insert, Self.postings, ["external_id": "p1", "title": "t"])]) == nil)
        #expect(try TableFixtures.commit(store, run: runs[1], step: step, [try TableFixtures.effect(.upsert, grades, ["external_id": "p1", "grade": 4])]) == nil)
        let orphan = try TableFixtures.commit(store, run: runs[2], step: step, [try TableFixtures.effect(.upsert, grades, ["external_id": "nope", "grade": 1])])
        #expect(orphan?.contains("effect refused") == true, "\(orphan ?? "accepted")")
        let parent = try TableFixtures.commit(store, run: runs[3], step: step, [try TableFixtures.effect(.delete, Self.postings, ["external_id": "p1"])])
        #expect(parent?.contains("effect refused") == true, "a referenced row stays: \(parent ?? "deleted")")
        #expect(try store.rows(of: grades).count == 1 && store.rows(of: Self.postings).count == 1)
        // Rebuilding the referenced table removes and writes its rows again in one transaction.
        try store.rows("DELETE FROM \(TableSQL.name("data", "grades", backend.store))")
        try store.rows("UPDATE \(TableSQL.name("data", "postings", backend.store)) SET title = 'x'")
        let report = try store.rebuildTable("data.postings")
        #expect(report.updated == 1)
        #expect(try store.rebuildTable("data.grades").inserted == 1)
    }

    /// Two hosts (two stores on one database) write the same keys at once, each its events
    /// in a shuffled order: every key ends with its newest event, whatever arrived last.
    @Test(arguments: Backend.allCases)
    func twoHostsRacingKeepTheNewestEventOfEachKey(_ backend: Backend) throws {
        let location = backend == .sqlite ? try TestPlugins.temporaryDirectory() + "/wavehost.db" : try PostgresServer.makeDatabase()
        let first = try Store(location: location)
        let source = "workflow: race\nsteps:\n  only: {actor: echo-c}\n"
        let workflow = try first.registerWorkflow(try EngineFixtures.workflow(source), source: source)
        _ = try first.addSubjects(EngineFixtures.subjects(2), workflowID: workflow.id)
        let runs = try first.claimRuns(workflowID: workflow.id, owner: "test", limit: 2, lease: .seconds(600)) { _ in false }.map(\.id)
        let step = try #require(workflow.stepIDs["only"])
        try declare(first, Self.status)
        let second = try Store(location: location)
        try declare(second, Self.status)
        // 20 agents, 30 checks each at distinct times; host A sends the even checks, B the odd ones, each shuffled.
        let checks = (0..<20).flatMap { agent in (0..<30).map { (agent: agent, minute: $0) } }
        let stores = [first, second]
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { host in
            let mine = checks.filter { $0.minute % 2 == host }.shuffled()
            for check in mine {
                let row: JSON = ["agent": .string("a\(check.agent)"), "state": .string("m\(check.minute)"),
                                 "checked_at": .string(String(format: "2026-12-01T10:%02d:00Z", check.minute))]
                do {
                    if let refused = try TableFixtures.commit(stores[host], run: runs[host], step: step, [try TableFixtures.effect(.upsert, Self.status, row)]) {
                        failures.withLock { $0.append(refused) }
                    }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let rows = try first.rows(of: Self.status)
        #expect(rows.count == 20)
        #expect(rows.allSatisfy { $0.row["state"] == "m29" && $0.row["checked_at"] == "2026-12-01T10:29:00.000Z" }, "\(rows.prefix(3))")
        #expect(try first.count("SELECT COUNT(*) FROM effect_ledger") == 600)
    }

    @Test(arguments: Backend.allCases)
    func aRebuildYieldsTheLiveTableAndRepairsADamagedOne(_ backend: Backend) throws {
        let (store, runs, step) = try prepared(backend)
        try declare(store, Self.postings)
        for index in 0..<60 {
            let row: JSON = ["external_id": .string("p\(index % 40)"), "title": .string("v\(index)"), "salary": .integer(Int64(index)),
                             "remote": .bool(index % 2 == 0), "posted_at": "2026-12-01T21:30:00Z", "extra": ["i": .integer(Int64(index))]]
            try TableFixtures.commit(store, run: runs[index % 4], step: step, [try TableFixtures.effect(.upsert, Self.postings, row)])
        }
        try TableFixtures.commit(store, run: runs[0], step: step, [try TableFixtures.effect(.delete, Self.postings, ["external_id": "p3"])])
        let table = TableSQL.name("data", "postings", backend.store)
        func snapshot() throws -> [[SQLValue]] { try store.rows("SELECT * FROM \(table) ORDER BY external_id") }
        let live = try snapshot()
        #expect(live.count == 39)
        let intact = try store.rebuildTable("data.postings", chunk: 7)
        #expect(intact.entries == 61 && intact.rows == 39 && intact.inserted + intact.updated + intact.deleted == 0)
        #expect(try snapshot() == live)
        // Damage it: a row lost, a row changed, a row that no effect wrote.
        try store.rows("DELETE FROM \(table) WHERE external_id = 'p1'")
        try store.rows("UPDATE \(table) SET title = 'tampered' WHERE external_id = 'p2'")
        try store.rows("INSERT INTO \(table) (external_id, title, _interaction_id, _run_id, _written_at) VALUES ('stray', 't', 0, 0, 0)")
        let dry = try store.rebuildTable("data.postings", dryRun: true, chunk: 7)
        #expect(dry.inserted == 1 && dry.updated == 1 && dry.deleted == 1)
        #expect(try snapshot() != live)
        let repaired = try store.rebuildTable("data.postings", chunk: 7)
        #expect(repaired == dry)
        #expect(try snapshot() == live)
    }

    @Test(arguments: Backend.allCases)
    func rowsOfAnOlderReleaseAreImportedOnceIntoTheLedgerAndTheTable(_ backend: Backend) throws {
        let (store, runs, step) = try prepared(backend)
        // What the current release writes: effect_rows keyed by subject, the row without its key.
        let interaction = try #require(try store.reserveInteractionIDs(1).first)
        var batch = JournalBatch(id: UUID().uuidString)
        batch.starts = [InteractionStart(id: interaction, runID: runs[0], stepID: step, variantID: nil, parentID: nil, actorSHA256: nil,
                                         attempt: 1, input: Array("{}".utf8), startedAt: Store.now(), owner: "test", cause: "test")]
        _ = try store.commit(batch)
        for index in 0..<12 {
            try store.rows("""
                INSERT INTO effect_rows (table_name, row_key, data, interaction_id, written_at) \
                VALUES ('posting_grades', 'p\(index)', '{"grade":\(index % 5 + 1),"reason":"r\(index)"}', \(interaction), 1000)
                """)
        }
        let grades = TableSchema(namespace: "data", name: "posting_grades",
                                 columns: [Column(name: "external_id", type: .text), Column(name: "grade", type: .integer), Column(name: "reason", type: .text)],
                                 key: ["external_id"])
        try declare(store, grades)
        try declare(store, grades)  // again: nothing more
        #expect(try store.rows(of: grades).count == 12)
        #expect(try store.row(of: grades, key: "p7")?["grade"] == .integer(3))
        #expect(try store.count("SELECT COUNT(*) FROM effect_ledger WHERE origin IS NOT NULL") == 12)
        #expect(try store.count("SELECT COUNT(*) FROM \(TableSQL.name("data", "posting_grades", backend.store)) WHERE _run_id = \(runs[0])") == 12)
        let rebuilt = try store.rebuildTable("data.posting_grades")
        #expect(rebuilt.rows == 12 && rebuilt.inserted + rebuilt.updated + rebuilt.deleted == 0)
    }
}

extension Backend {
    var store: Store.Backend { self == .sqlite ? .sqlite : .postgres }
}
