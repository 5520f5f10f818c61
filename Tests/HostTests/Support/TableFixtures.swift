import Foundation
import WavehostJSON
@testable import WavehostStore

/// What the declared-table tests share: an effect checked as the engine checks one, and one
/// completed interaction committed with effects, as the journal commits it.
enum TableFixtures {
    static func effect(_ operation: Effect.Operation = .upsert, _ table: TableSchema, _ row: JSON) throws -> Effect {
        Effect(operation: operation, table: table, key: try table.check(row, deleting: operation == .delete), row: row)
    }

    /// Commits one completed interaction of `run` with `effects`; returns why they were refused, if they were.
    @discardableResult
    static func commit(_ store: Store, run: Int64, step: Int64, _ effects: [Effect]) throws -> String? {
        guard let id = try store.reserveInteractionIDs(1).first else { throw TestSetupError("no interaction id reserved") }
        var batch = JournalBatch(id: UUID().uuidString)
        batch.starts = [InteractionStart(id: id, runID: run, stepID: step, variantID: nil, parentID: nil, actorSHA256: nil, attempt: 1,
                                         input: Array("{}".utf8), startedAt: Store.now(), owner: "test", cause: "test")]
        batch.finishes = [InteractionFinish(id: id, status: .completed, output: Array("{}".utf8), error: nil, completedAt: Store.now(),
                                            latencyMicroseconds: 1, effects: effects, applyEffects: true, runID: run)]
        return try store.commit(batch).refused[id]
    }
}
