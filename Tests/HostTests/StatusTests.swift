import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostPlugins
@testable import WavehostStore

/// `Store.status` and `wavehost status` over a store a real engine run filled, with the
/// real echo-c plugin, on both backends.
@Suite struct StatusTests {
    /// `first` refuses inputs over 60 bytes (a final failure: retries do not help it);
    /// `second` runs only for subjects with `keep: true`.
    static let workflow = """
        workflow: status-test
        environment: test
        steps:
          first:
            actor: echo-c
            isolation: inprocess
            config: {max_bytes: 60}
            input: subject
            retries: {attempts: 2}
          second:
            after: [first]
            actor: echo-c
            isolation: inprocess
            when: {step: first, field: echo.keep, equals: true}
        """

    /// 20 subjects: 17 small ones (9 with keep true) and 3 of the same size over the
    /// limit, so their errors share one text.
    static let subjects: [Subject] = (0..<20).map { index in
        var payload: [(key: String, value: JSON)] = [("keep", .bool(index % 2 == 0 || index >= 17))]
        if index >= 17 { payload.append(("pad", .string(String(repeating: "x", count: 60)))) }
        return Subject(key: "s\(index)", payload: .object(payload))
    }

    @Test(arguments: Backend.allCases)
    func countsLatenciesErrorsAndStaleWorkMatchWhatRan(_ backend: Backend) throws {
        let (store, _, progress, sha256) = try Self.populate(backend)
        #expect(progress.runsCompleted == 17 && progress.runsFailed == 3)
        #expect(progress.interactionsCompleted == 26 && progress.interactionsFailed == 3)

        let report = try store.status(workflow: "status-test")
        #expect(report.workflows == ["status-test"])
        #expect((report.runs.total, report.runs.completed, report.runs.failed, report.runs.running, report.runs.pending) == (20, 17, 3, 0, 0))
        #expect(report.runs.throughEveryStep == 9, "completed runs that skipped no step")
        let calls = report.interactions
        #expect((calls.total, calls.completed, calls.failed, calls.timedOut, calls.running, calls.pending) == (29, 26, 3, 0, 0, 0))

        #expect(report.steps.map(\.name) == ["first", "second"], "in workflow order")
        let first = report.steps[0], second = report.steps[1]
        #expect((first.interactionsCompleted, first.interactions, first.runsCompleted, first.runs, first.runsSkipped) == (17, 20, 17, 20, 0))
        #expect((second.interactionsCompleted, second.interactions, second.runsCompleted, second.runs, second.runsSkipped) == (9, 9, 9, 20, 8))
        for step in report.steps {
            let p50 = try #require(step.p50Milliseconds), p95 = try #require(step.p95Milliseconds)
            #expect(p50 >= 0 && p50 <= p95, "\(step.name): p50 \(p50) ms, p95 \(p95) ms")
        }

        #expect(report.actors.count == 1)
        let actor = try #require(report.actors.first)
        #expect((actor.name, actor.interactions, actor.completed, actor.finished) == ("echo-c", 29, 26, 29))
        #expect(actor.sha256 == [sha256])
        #expect(abs((actor.successRate ?? 0) - 26.0 / 29.0) < 1e-9)

        // One group per text: the actor's refusal, and the runs it failed.
        #expect(report.errors.count == 2, "\(report.errors.map(\.message))")
        let refusal = try #require(report.errors.first { $0.source == .interaction })
        #expect(refusal.count == 3 && refusal.message.contains("more than max_bytes (60)"))
        let failedRuns = try #require(report.errors.first { $0.source == .run })
        #expect(failedRuns.count == 3 && failedRuns.message.hasPrefix("step first failed after 1 attempt"))
        #expect(report.errors.allSatisfy { ($0.latestAt ?? 0) > report.now - 600_000 && ($0.latestAt ?? .max) <= report.now })

        #expect(report.staleInteractions.isEmpty && report.staleRuns.isEmpty)
        #expect(abs(report.throughput.lastMinute * 60 - 26) < 1e-6, "all 26 completed within the last minute")
        #expect((report.throughput.overall ?? 0) > 0)
        #expect(try store.status().runs.total == 20, "all workflows: the same one here")
        #expect(try store.status(workflow: "another").workflows.isEmpty)

        // A call a dead host left running an hour ago, one started a second ago, and a
        // run whose lease lapsed.
        let now = Store.now()
        try Self.execute(store, """
            INSERT INTO interactions (id, run_id, step_id, variant_id, status, attempt, lease_owner, started_at) \
            SELECT 900000 + r.id, r.id, s.id, v.id, 'running', 1, 'gone-host:1:ab', \
            CASE WHEN r.subject = 's1' THEN \(now - 3_600_000) ELSE \(now - 1_000) END \
            FROM runs r JOIN steps s ON s.workflow_id = r.workflow_id AND s.name = 'second' \
            JOIN variants v ON v.step_id = s.id WHERE r.subject IN ('s1', 's3')
            """)
        try Self.execute(store, "UPDATE runs SET status = 'running', lease_owner = 'gone-host:1:ab', lease_expires_at = \(now - 5_000) WHERE subject = 's5'")
        let stale = try store.status(workflow: "status-test", now: now)
        #expect(stale.interactions.running == 2 && stale.runs.running == 1 && stale.runs.completed == 16)
        #expect(stale.staleInteractions.count == 1, "the one a second old is within its 30 s timeout")
        let call = try #require(stale.staleInteractions.first)
        #expect((call.step, call.owner, call.startedAt, call.timeoutMilliseconds) == ("second", "gone-host:1:ab", now - 3_600_000, 30_000))
        #expect(stale.staleRuns.map(\.subject) == ["s5"] && stale.staleRuns.first?.owner == "gone-host:1:ab")
        #expect(try store.status(workflow: "status-test", now: now + 31_000).staleInteractions.count == 2, "31 s later both are")
    }

    @Test func percentilesAreNearestRank() {
        let values = (1...20).map(Int64.init)
        #expect(Store.nearestRank(50, of: values) == 10 && Store.nearestRank(95, of: values) == 19)
        #expect(Store.nearestRank(50, of: [7]) == 7 && Store.nearestRank(95, of: [7]) == 7)
        #expect(Store.nearestRank(95, of: [1, 2, 3]) == 3 && Store.nearestRank(50, of: [1, 2, 3, 4]) == 2)
        #expect(Store.nearestRank(50, of: []) == nil)
    }

    @Test(arguments: Backend.allCases)
    func theCommandShowsEverySectionAndTheSameDataAsJSON(_ backend: Backend) throws {
        let location = try Self.populate(backend).location
        let text = try TestPlugins.run(TestPlugins.cli, ["status", "--database", location])
        #expect(text.status == 0, "\(text.error)")
        for heading in ["Runs", "Interactions", "Steps", "Actors", "Recent errors", "Stale work", "Throughput"] {
            #expect(text.output.contains("\n\(heading)\n"), "missing \(heading) in:\n\(text.output)")
        }
        #expect(text.output.contains("total 20   completed 17   failed 3"))
        #expect(text.output.contains("through every step 9"), "9 runs completed both steps; 8 skipped the second")
        #expect(text.output.contains("echo-c"))

        let json = try TestPlugins.run(TestPlugins.cli, ["status", "--database", location, "--workflow", "status-test", "--json"])
        #expect(json.status == 0, "\(json.error)")
        let parsed = try JSON.parse(json.output)
        #expect(parsed["runs"]?["total"]?.intValue == 20 && parsed["interactions"]?["failed"]?.intValue == 3)
        #expect(parsed["runs"]?["through_every_step"]?.intValue == 9)
        #expect(parsed["steps"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["first", "second"])
        #expect(parsed["recent_errors"]?.arrayValue?.count == 2)

        let unknown = try TestPlugins.run(TestPlugins.cli, ["status", "--database", location, "--workflow", "nope"])
        #expect(unknown.status == 2 && unknown.error.contains("no workflow named nope"))
    }

    /// `copy` and `again` both save each subject into `items` (two writes, one row per
    /// subject); `status-reader` only declares it `read`.
    static let tablesWorkflow = """
        workflow: status-tables
        tables:
          items:
            columns: {id: text, keep: boolean, pad: text}
            key: id
        steps:
          copy: {actor: echo-c, isolation: inprocess, input: subject, save: {table: items, rows: echo, subject: id}}
          again: {actor: echo-c, isolation: inprocess, input: subject, after: [copy], save: {table: items, rows: echo, subject: id}}
        """
    static let readerWorkflow = """
        workflow: status-reader
        tables: {items: read}
        steps:
          look: {actor: echo-c, isolation: inprocess, input: subject}
        """

    @Test(arguments: Backend.allCases)
    func eachDeclaredTableShowsItsRowsWritesAndWorkflows(_ backend: Backend) throws {
        let location = backend == .sqlite ? try TestPlugins.temporaryDirectory() + "/wavehost.db" : try PostgresServer.makeDatabase()
        let store = try Store(location: location)
        let catalog = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(trusting: [try TestPlugins.product("EchoC")], shipping: false)))
        try catalog.add(try TestPlugins.product("EchoC"))
        #expect(try store.status().tables.isEmpty, "no workflow declared a table yet")
        for (file, yaml, subjects) in [("status-tables.yaml", Self.tablesWorkflow, Self.subjects),
                                       ("status-reader.yaml", Self.readerWorkflow, [Subject(key: "r0", payload: ["n": 1])])] {
            let definition = try WorkflowParser(file: file, knownActors: catalog.names).parse(yaml)
            let progress = try Engine(store: store, catalog: catalog).run(definition, source: yaml, subjects: subjects)
            #expect(progress.runsCompleted == subjects.count && progress.runsFailed == 0)
        }
        let report = try store.status(workflow: "status-tables")
        #expect(report.tables.count == 1)
        let items = try #require(report.tables.first)
        #expect((items.name, items.owner, items.writers, items.readers) == ("data.items", "status-tables", ["status-tables"], ["status-reader"]))
        #expect(items.rows == 20 && items.writtenTotal == 40 && items.writtenLastHour == 40, "20 subjects, two saves each: \(items)")
        #expect(items.rows == (try store.declaredTables().first?.rows), "the rows declaredTables counts")
        let last = try #require(items.lastWrittenAt)
        #expect(last <= report.now && last > report.now - 600_000)
        #expect(try store.status(workflow: "status-reader").tables.map(\.name) == ["data.items"], "a reader's status shows what it reads")
        #expect(try store.status().tables.count == 1)
        // Two hours on, the writes are no longer the last hour's; they are still written.
        let later = try #require(try store.status(workflow: "status-tables", now: report.now + 7_200_000).tables.first)
        #expect(later.writtenLastHour == 0 && later.writtenTotal == 40 && later.rows == 20)

        let text = try TestPlugins.run(TestPlugins.cli, ["status", "--database", location])
        #expect(text.status == 0, "\(text.error)")
        #expect(text.output.contains("\nTables\n"), "\(text.output)")
        let line = text.output.split(separator: "\n").first { $0.contains("data.items") }.map(String.init) ?? ""
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).prefix(4) == ["data.items", "20", "40", "40"], "\(line)")
        #expect(line.contains("status-tables") && line.hasSuffix("status-reader"), "\(line)")
        let json = try JSON.parse(try TestPlugins.run(TestPlugins.cli, ["status", "--database", location, "--json"]).output)
        let table = try #require(json["tables"]?.arrayValue?.first)
        #expect(table["name"] == "data.items" && table["rows"]?.intValue == 20 && table["written_total"]?.intValue == 40)
        #expect(table["written_last_hour"]?.intValue == 40 && table["readers"] == ["status-reader"] && table["owner"] == "status-tables")
    }

    @Test func aMissingDatabaseIsAClearErrorAndIsNotCreated() throws {
        let path = try TestPlugins.temporaryDirectory() + "/absent.db"
        let result = try TestPlugins.run(TestPlugins.cli, ["status", "--database", path])
        #expect(result.status == 6)
        #expect(result.error.contains("no database at \(path)"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: path))
        let server = try TestPlugins.run(TestPlugins.cli, ["status", "--database", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"])
        #expect(server.status == 6 && server.error.contains("cannot connect"), "\(server.error)")
    }

    // MARK: - Helpers

    /// A new store of `backend` (and where it is) after one engine run of ``workflow``
    /// over ``subjects``; also the echo-c file's SHA-256.
    static func populate(_ backend: Backend) throws -> (store: Store, location: String, progress: Engine.Progress, sha256: String) {
        let location = backend == .sqlite ? try TestPlugins.temporaryDirectory() + "/wavehost.db" : try PostgresServer.makeDatabase()
        let store = try Store(location: location)
        let catalog = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(trusting: [try TestPlugins.product("EchoC")], shipping: false)))
        try catalog.add(try TestPlugins.product("EchoC"))
        let sha256 = try #require(catalog.versions(of: ["echo-c"]).first?.sha256)
        let definition = try WorkflowParser(file: "status-test.yaml", knownActors: catalog.names).parse(workflow)
        let progress = try Engine(store: store, catalog: catalog).run(definition, source: workflow, subjects: subjects)
        return (store, location, progress, sha256)
    }

    private static func execute(_ store: Store, _ sql: String) throws {
        try store.withConnection { connection throws(StoreError) in _ = try connection.query(sql) }
    }
}
