import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// Text from actors (errors, causes) with a NUL byte and invalid UTF-8, on both backends,
/// through the bulk path (≥ 8 rows: COPY on PostgreSQL, multi-row VALUES on SQLite) and the
/// single-row one: it is stored escaped, and the journal and the engine go on.
@Suite struct StoreTextTests {
    /// What an actor sent ("bad", NUL, "byte ", 0xFF 0xFE, " end"), decoded as the host decodes it.
    static let hostile = String(decoding: Array("bad".utf8) + [0] + Array("byte ".utf8) + [0xFF, 0xFE] + Array(" end".utf8),
                                as: UTF8.self)
    /// How it is stored: NUL as visible text, each invalid byte as U+FFFD.
    static let escaped = #"bad\u0000byte "# + "\u{FFFD}\u{FFFD} end"

    /// A store with one workflow and `count` claimed runs.
    private func prepared(_ backend: Backend, runs count: Int) throws -> (Store, runIDs: [Int64], stepID: Int64) {
        let store = try EngineFixtures.store(backend)
        let source = "workflow: text\nsteps:\n  only: {actor: echo-c}\n"
        let workflow = try store.registerWorkflow(try EngineFixtures.workflow(source), source: source)
        _ = try store.addSubjects(EngineFixtures.subjects(count), workflowID: workflow.id)
        let runs = try store.claimRuns(workflowID: workflow.id, owner: "test", limit: count, lease: .seconds(60)) { _ in false }
        return (store, runs.map(\.id), try #require(workflow.stepIDs["only"]))
    }

    private func start(_ id: Int64, run: Int64, step: Int64, cause: String) -> InteractionStart {
        InteractionStart(id: id, runID: run, stepID: step, variantID: nil, parentID: nil, actorSHA256: nil, attempt: 1,
                         input: Array("{}".utf8), startedAt: Store.now(), owner: "test", cause: cause)
    }

    private func finish(_ id: Int64, error: String) -> InteractionFinish {
        InteractionFinish(id: id, status: .failed, output: nil, error: error, completedAt: Store.now(), latencyMicroseconds: 1,
                          effects: [], applyEffects: false)
    }

    @Test(arguments: Backend.allCases)
    func manyRowsOfBadTextAreStoredEscaped(_ backend: Backend) throws {
        let (store, runIDs, stepID) = try prepared(backend, runs: 10)
        let ids = Array(try store.reserveInteractionIDs(10))
        var batch = JournalBatch(id: UUID().uuidString)
        for (id, run) in zip(ids, runIDs) {
            batch.starts.append(start(id, run: run, step: stepID, cause: "retry 2 of 2 after: \(Self.hostile)"))
            batch.finishes.append(finish(id, error: Self.hostile))
            batch.events.append(EventRecord(kind: "retry_scheduled", cause: Self.hostile, interactionID: id, payload: "{}"))
        }
        batch.finishedRuns = runIDs.map { ($0, "step only failed after 1 attempt: \(Self.hostile)") }
        _ = try store.commit(batch)
        try expectEscaped(store, interactions: 10, runs: 10)
    }

    @Test(arguments: Backend.allCases)
    func oneRowOfBadTextIsStoredEscaped(_ backend: Backend) throws {
        let (store, runIDs, stepID) = try prepared(backend, runs: 1)
        let id = try #require(try store.reserveInteractionIDs(1).first)
        // Begun in one commit and ended in the next: the end is an UPDATE of the one row.
        var begun = JournalBatch(id: UUID().uuidString)
        begun.starts = [start(id, run: runIDs[0], step: stepID, cause: "retry 2 of 2 after: \(Self.hostile)")]
        _ = try store.commit(begun)
        var ended = JournalBatch(id: UUID().uuidString)
        ended.finishes = [finish(id, error: Self.hostile)]
        ended.finishedRuns = [(runIDs[0], "step only failed after 1 attempt: \(Self.hostile)")]
        _ = try store.commit(ended)
        try store.appendEvents([EventRecord(kind: "retry_scheduled", cause: Self.hostile, interactionID: id, payload: "{}")])
        try expectEscaped(store, interactions: 1, runs: 1)
    }

    /// A real actor (in its sandbox) failing with the text: the runs fail with the reason
    /// stored escaped, good runs beside them complete, and a later engine on the same store
    /// goes on (before, PostgreSQL refused the journal's COPY, and again after each restart).
    @Test(arguments: Backend.allCases)
    func anActorsBadErrorTextNeverStopsTheEngine(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: [try TestPlugins.wireHostile()])
        let yaml = """
            workflow: bad-text
            steps:
              only: {actor: wire-hostile, input: subject, retries: {attempts: 2, backoff: 10ms}}
            """
        let subjects = EngineFixtures.subjects(12) { ["do": .string($0 < 10 ? "bad-text" : "echo")] }
        let progress = try EngineFixtures.run(yaml, subjects, store: store, catalog: catalog)
        #expect(progress.runsFailed == 10 && progress.runsCompleted == 2)
        let errors = try store.rows("SELECT error FROM interactions WHERE status = 'failed'").compactMap { $0[0].text }
        #expect(errors.count == 20)
        #expect(errors.allSatisfy { $0.contains(Self.escaped) }, "\(errors.first ?? "")")
        let runErrors = try store.rows("SELECT error FROM runs WHERE status = 'failed'").compactMap { $0[0].text }
        #expect(runErrors.count == 10 && runErrors.allSatisfy { $0.contains(Self.escaped) })
        let retryCauses = try store.rows("SELECT cause FROM events WHERE kind = 'interaction_started'").compactMap { $0[0].text }
        #expect(retryCauses.filter { $0.contains(Self.escaped) }.count == 10, "each retry's cause names the error")

        let again = try EngineFixtures.run("workflow: after\nsteps:\n  only: {actor: echo-c, input: subject}\n",
                                           EngineFixtures.subjects(3), store: store, catalog: catalog)
        #expect(again.runsCompleted == 3, "the store takes the next workflow's work as before")
    }

    private func expectEscaped(_ store: Store, interactions: Int, runs: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let errors = try store.rows("SELECT error FROM interactions").compactMap { $0[0].text }
        #expect(errors == Array(repeating: Self.escaped, count: interactions), sourceLocation: sourceLocation)
        let runErrors = try store.rows("SELECT error FROM runs").compactMap { $0[0].text }
        #expect(runErrors == Array(repeating: "step only failed after 1 attempt: \(Self.escaped)", count: runs),
                sourceLocation: sourceLocation)
        let started = try store.rows("SELECT cause FROM events WHERE kind = 'interaction_started'").compactMap { $0[0].text }
        #expect(started == Array(repeating: "retry 2 of 2 after: \(Self.escaped)", count: interactions), sourceLocation: sourceLocation)
        let retries = try store.rows("SELECT cause FROM events WHERE kind = 'retry_scheduled'").compactMap { $0[0].text }
        #expect(retries == Array(repeating: Self.escaped, count: interactions), sourceLocation: sourceLocation)
        // The failed events' payloads are JSON, where NUL was already an escape of JSON's own.
        for row in try store.rows("SELECT payload FROM events WHERE kind = 'interaction_failed'") {
            let payload = try JSON.parse(Array((row[0].text ?? "").utf8))
            #expect(payload["error"] == .string(Self.hostile), sourceLocation: sourceLocation)
        }
    }
}
