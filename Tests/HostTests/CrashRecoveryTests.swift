import Foundation
import Synchronization
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// The failures a durable host must survive, with real processes: the host killed with
/// SIGKILL mid-run and started again, and PostgreSQL restarted under a running engine.
/// Either way every subject completes exactly once and every effect lands exactly once.
@Suite(.serialized) struct CrashRecoveryTests {
    static let subjects = 40

    static let workflow = """
        workflow: crash
        writable_tables: [postings]
        steps:
          slow: {actor: slow-echo, input: subject, retries: {attempts: 3, backoff: 10ms}}
          promote:
            after: [slow]
            actor: staging-validator
            isolation: inprocess
            config: {key: external_id, target: postings, required: [title]}
            lookup: {table: postings, key: external_id}
            retries: {attempts: 3}
        """

    static var slowEcho: String { TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/scripts/slow-echo.py" }

    /// Every run completed, one completed interaction per run and step, one effect per subject.
    static func expectEachSubjectCompletedOnce(_ store: Store) throws {
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == subjects)
        #expect(try store.count("""
            SELECT COUNT(*) FROM (SELECT run_id, step_id FROM interactions WHERE status = 'completed'
            GROUP BY run_id, step_id HAVING COUNT(*) > 1) AS repeated
            """) == 0)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") == 2 * subjects)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status IN ('running', 'pending')") == 0)
        #expect(try store.rows(ofTable: "postings").count == subjects)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'effects_applied'") == subjects)
    }

    /// Polls until `store` holds at least `count` completed interactions.
    static func waitForCompleted(_ count: Int, in store: Store) throws {
        for _ in 0..<3000 {
            if try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") >= count { return }
            usleep(10_000)
        }
        throw TestSetupError("the run never reached \(count) completed interactions")
    }

    @Test func aHostKilledMidRunResumesAndEverySubjectCompletesOnce() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let database = folder + "/wavehost.db"
        try Self.workflow.write(toFile: folder + "/crash.yaml", atomically: true, encoding: .utf8)
        let lines = (0..<Self.subjects).map { #"{"external_id":"p\#($0)","title":"Posting \#($0)"}"# }
        try lines.joined(separator: "\n").write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        let arguments = ["run", folder + "/crash.yaml", "--database", database, "--actor", Self.slowEcho,
                         "--actor", try TestPlugins.product("StagingValidator"), "--subjects", folder + "/subjects.jsonl",
                         "--key", "external_id", "--concurrency", "2", "--quiet", "--cache-dir", folder + "/cache",
                         "--trust", try TestPlugins.sha256(try TestPlugins.product("StagingValidator"))]

        let host = try TestPlugins.start(TestPlugins.cli, arguments)
        let store = try Store(location: database)
        try Self.waitForCompleted(20, in: store)
        kill(host, SIGKILL)
        var status: Int32 = 0
        waitpid(host, &status, 0)
        let completedBefore = try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'")
        #expect(completedBefore < Self.subjects, "the host was killed with work left")

        let again = try TestPlugins.run(TestPlugins.cli, arguments)
        #expect(again.status == 0, "\(again.error)")
        try Self.expectEachSubjectCompletedOnce(store)
        // Whatever the killed host had left running was taken back, not left stuck.
        let takenBack = try store.count("SELECT COUNT(*) FROM events WHERE kind = 'interaction_taken_back'")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE error LIKE 'taken back:%'") == takenBack)
    }

    @Test func postgresRestartedMidRunLosesAndRepeatsNothing() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let url = try server.makeDatabase()
        let store = try Store(location: url)
        let catalog = try EngineFixtures.catalog(["StagingValidator"], files: [Self.slowEcho], trusting: ["StagingValidator"])
        let subjects = (0..<Self.subjects).map { Subject(key: "p\($0)", payload: ["external_id": .string("p\($0)"), "title": "Posting"]) }
        let outcome = Mutex<Result<Engine.Progress, any Error>?>(nil)
        let engineStore = try Store(location: url)
        let thread = Thread {
            var options = Engine.Options()
            options.concurrency = 2
            let result = Result { try EngineFixtures.run(Self.workflow, subjects, store: engineStore, catalog: catalog, options: options) }
            outcome.withLock { $0 = result }
        }
        thread.start()
        try Self.waitForCompleted(16, in: store)
        try server.restart(pause: .seconds(1))
        for _ in 0..<6000 where outcome.withLock({ $0 == nil }) { usleep(10_000) }
        let result = try #require(outcome.withLock { $0 }, "the engine did not finish after the restart")
        let progress = try result.get()
        #expect(progress.runsFailed == 0)
        try Self.expectEachSubjectCompletedOnce(store)
    }
}
