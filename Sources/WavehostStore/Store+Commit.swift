import WavehostHash
import WavehostJSON

/// An interaction the engine has begun.
public struct InteractionStart: Sendable {
    public var id: Int64
    public var runID: Int64
    public var stepID: Int64
    public var variantID: Int64?
    public var parentID: Int64?
    public var actorSHA256: String?
    public var attempt: Int
    public var input: [UInt8]
    public var startedAt: Int64
    public var owner: String
    /// Why it runs now: "first attempt", "retry 2 of 3 after: …", "page 3".
    public var cause: String

    package init(id: Int64, runID: Int64, stepID: Int64, variantID: Int64?, parentID: Int64?, actorSHA256: String?, attempt: Int,
                 input: [UInt8], startedAt: Int64, owner: String, cause: String) {
        self.id = id
        self.runID = runID
        self.stepID = stepID
        self.variantID = variantID
        self.parentID = parentID
        self.actorSHA256 = actorSHA256
        self.attempt = attempt
        self.input = input
        self.startedAt = startedAt
        self.owner = owner
        self.cause = cause
    }
}

/// How an interaction ended, and what it asked to write.
public struct InteractionFinish: Sendable {
    public var id: Int64
    public var status: InteractionStatus
    public var output: [UInt8]?
    public var error: String?
    public var completedAt: Int64
    public var latencyMicroseconds: Int64
    public var effects: [Effect]
    /// False in test environments and shadow runs: the effects are recorded as skipped.
    public var applyEffects: Bool
    /// The HTTP requests the host made for the actor, as their events (written after the
    /// interaction's own).
    public var hostCallEvents: [EventRecord] = []
    /// The interaction's run (0 when unknown): a commit drops ends of runs the host lost.
    public var runID: Int64 = 0

    package init(id: Int64, status: InteractionStatus, output: [UInt8]?, error: String?, completedAt: Int64, latencyMicroseconds: Int64,
                 effects: [Effect], applyEffects: Bool, hostCallEvents: [EventRecord] = [], runID: Int64 = 0) {
        self.id = id
        self.status = status
        self.output = output
        self.error = error
        self.completedAt = completedAt
        self.latencyMicroseconds = latencyMicroseconds
        self.effects = effects
        self.applyEffects = applyEffects
        self.hostCallEvents = hostCallEvents
        self.runID = runID
    }
}

/// Everything one group commit writes, in one transaction.
public struct JournalBatch: Sendable {
    /// Marks the commit, so a retry after a lost connection can tell whether it landed.
    public var id: String
    public var starts: [InteractionStart] = []
    public var finishes: [InteractionFinish] = []
    public var finishedRuns: [(runID: Int64, failure: String?)] = []
    public var events: [EventRecord] = []
    /// The host writing it. When set, the commit lands only what belongs to runs this
    /// owner still holds: a host whose lease lapsed and was taken over writes nothing
    /// more for those runs (its work there is discarded, the new owner's counts).
    public var owner: String?

    public var isEmpty: Bool { starts.isEmpty && finishes.isEmpty && finishedRuns.isEmpty && events.isEmpty }

    package init(id: String, owner: String? = nil) {
        self.id = id
        self.owner = owner
    }
}

/// What a commit did beside writing: effects refused, runs found lost to another host.
public struct CommitOutcome: Sendable {
    /// Interactions whose effects were refused (stored as failed), with the reason.
    public var refused: [Int64: String] = [:]
    /// Runs of the batch that its owner no longer holds; nothing of them was written.
    public var lostRuns: Set<Int64> = []
}

extension Store {
    /// Writes `batch` in one transaction: interactions begun and ended, the effects of
    /// completed ones (each all-or-nothing), runs finished, and the events for all of it.
    /// With an owner, first drops what belongs to runs the owner no longer holds (see
    /// ``JournalBatch/owner``). Safe to repeat: a batch that already landed is not written twice.
    public func commit(_ batch: JournalBatch) throws(StoreError) -> CommitOutcome {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let p = connection.placeholder
                if try !connection.query("SELECT 1 FROM commits WHERE id = \(p(1))", [.text(batch.id)]).isEmpty {
                    return CommitOutcome(refused: try refusals(recordedFor: batch, connection), lostRuns: try lostRuns(batch, connection))
                }
                let lost = try lostRuns(batch, connection)
                let batch = lost.isEmpty ? batch : without(lost, batch)
                let now = Store.now()
                try connection.query("INSERT INTO commits (id, committed_at) VALUES (\(p(1)), \(p(2)))", [.text(batch.id), .integer(now)])
                var refused: [Int64: String] = [:]
                var events: [EventRecord] = []
                var finishes = batch.finishes
                var ledger: [[SQLValue]] = []
                let applicable = finishes.filter { $0.status == .completed && !$0.effects.isEmpty && $0.applyEffects }
                var appliedTogether = false
                if applicable.count > 1 { appliedTogether = try applyTogether(applicable, now: now, ledger: &ledger, connection) }
                for index in finishes.indices where finishes[index].status == .completed && !finishes[index].effects.isEmpty {
                    let finish = finishes[index]
                    let summary = Self.summary(of: finish.effects)
                    guard finish.applyEffects else {
                        events.append(EventRecord(kind: "effects_skipped", cause: "test environment or shadow run: effects are recorded, never applied",
                                                  interactionID: finish.id, payload: summary))
                        continue
                    }
                    if appliedTogether {
                        events.append(EventRecord(kind: "effects_applied", cause: "interaction completed", interactionID: finish.id, payload: summary))
                    } else if let reason = try apply(finish.effects, interactionID: finish.id, runID: finish.runID, now: now, ledger: &ledger, connection) {
                        finishes[index].status = .failed
                        finishes[index].error = reason
                        refused[finish.id] = reason
                        events.append(EventRecord(kind: "effects_refused", cause: reason, interactionID: finish.id, payload: summary))
                    } else {
                        events.append(EventRecord(kind: "effects_applied", cause: "interaction completed", interactionID: finish.id, payload: summary))
                    }
                }
                try writeInteractions(batch.starts, finishes, now: now, connection)
                try connection.insertRows(Self.ledgerInsert, ledger, suffix: "")
                for run in lost.sorted() {
                    events.append(EventRecord(kind: "run_lost", cause: "host \(batch.owner ?? "") no longer holds the lease "
                        + "(it lapsed and another host took the run over): its later work on the run is discarded",
                        interactionID: nil, payload: JSON.object([("run", .integer(run)), ("owner", .string(batch.owner ?? ""))]).text))
                }
                try insertEvents(lifecycleEvents(batch.starts, finishes) + events + batch.events, now: now, connection)
                try finishRuns(batch.finishedRuns, now: now, connection)
                return CommitOutcome(refused: refused, lostRuns: lost)
            }
        }
    }

    /// The runs `batch` touches that its owner does not hold. On PostgreSQL the held ones
    /// stay locked until the commit, so no host can take them over in between.
    private func lostRuns(_ batch: JournalBatch, _ connection: any SQLConnection) throws(StoreError) -> Set<Int64> {
        guard let owner = batch.owner else { return [] }
        var touched = Set(batch.starts.map(\.runID))
        touched.formUnion(batch.finishes.map(\.runID).filter { $0 != 0 })
        touched.formUnion(batch.finishedRuns.map(\.runID))
        guard !touched.isEmpty else { return [] }
        let list = "{" + touched.map(String.init).joined(separator: ",") + "}"
        let held = try connection.query(backend == .postgres
            ? "SELECT id FROM runs WHERE id = ANY($1::bigint[]) AND lease_owner = $2 FOR UPDATE"
            // CROSS JOIN fixes the order: one primary-key probe per listed run, never a scan of runs.
            : "SELECT r.id FROM json_each(?1) AS j CROSS JOIN runs AS r ON r.id = j.value WHERE r.lease_owner = ?2",
            [.text(backend == .postgres ? list : "[" + list.dropFirst().dropLast() + "]"), .text(owner)])
        return touched.subtracting(held.compactMap { $0[0].integer })
    }

    /// `batch` less whatever belongs to `lost` runs (and the events of its interactions there).
    private func without(_ lost: Set<Int64>, _ batch: JournalBatch) -> JournalBatch {
        var kept = batch
        let dropped = Set(batch.starts.filter { lost.contains($0.runID) }.map(\.id))
            .union(batch.finishes.filter { lost.contains($0.runID) }.map(\.id))
        kept.starts.removeAll { lost.contains($0.runID) }
        kept.finishes.removeAll { lost.contains($0.runID) }
        kept.finishedRuns.removeAll { lost.contains($0.runID) }
        kept.events.removeAll { $0.interactionID.map(dropped.contains) ?? false }
        return kept
    }

    /// Applies one interaction's effects inside a savepoint; a refused one undoes them all.
    /// Those applied join `ledger`, written with the batch.
    private func apply(_ effects: [Effect], interactionID: Int64, runID: Int64, now: Int64, ledger: inout [[SQLValue]],
                       _ connection: any SQLConnection) throws(StoreError) -> String? {
        try connection.execute("SAVEPOINT effects")
        for effect in effects {
            do {
                try write(effect, interactionID: interactionID, runID: runID, writtenAt: now, connection)
            } catch where error.code == .statementFailed {
                try connection.execute("ROLLBACK TO SAVEPOINT effects")
                try connection.execute("RELEASE SAVEPOINT effects")
                let conflict = error.message.localizedCaseInsensitiveContains("unique") || error.message.contains("duplicate key")
                return conflict
                    ? "effect refused: table \(effect.table.qualifiedName) already has a row with key \(effect.key)"
                    : "effect refused: \(effect.operation.rawValue) into \(effect.table.qualifiedName) key \(effect.key) failed: \(error.message)"
            }
        }
        try connection.execute("RELEASE SAVEPOINT effects")
        for effect in effects { ledger.append(Self.ledgerRow(effect, interactionID: interactionID, runID: runID, writtenAt: now)) }
        return nil
    }

    /// Inserts begun interactions (already ended ones in their final state, in one row)
    /// and updates the ended ones an earlier batch recorded as running.
    private func writeInteractions(_ starts: [InteractionStart], _ finishes: [InteractionFinish], now: Int64,
                                   _ connection: any SQLConnection) throws(StoreError) {
        var finishByID: [Int64: InteractionFinish] = [:]
        for finish in finishes { finishByID[finish.id] = finish }
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(starts.count)
        for start in starts {
            let finish = finishByID.removeValue(forKey: start.id)
            rows.append([
                .integer(start.id), .integer(start.runID), .integer(start.stepID), start.variantID.map(SQLValue.integer) ?? .null,
                start.parentID.map(SQLValue.integer) ?? .null, start.actorSHA256.map(SQLValue.text) ?? .null,
                .text((finish?.status ?? .running).rawValue), .integer(Int64(start.attempt)), .blob(start.input),
                finish?.output.map(SQLValue.blob) ?? .null, finish?.error.map(SQLValue.text) ?? .null, .text(start.owner),
                .integer(start.startedAt), finish.map { .integer($0.completedAt) } ?? .null,
                finish.map { .integer($0.latencyMicroseconds) } ?? .null,
            ])
        }
        try connection.insertRows("""
            INSERT INTO interactions (id, run_id, step_id, variant_id, parent_id, actor_sha256, status, attempt, input, output, error, \
            lease_owner, started_at, completed_at, latency_us)
            """, rows, suffix: "")
        let updates = finishes.filter { finishByID[$0.id] != nil }
        guard !updates.isEmpty else { return }
        let values: [[SQLValue]] = updates.map { [
            .integer($0.id), .text($0.status.rawValue), $0.output.map(SQLValue.blob) ?? .null, $0.error.map(SQLValue.text) ?? .null,
            .integer($0.completedAt), .integer($0.latencyMicroseconds),
        ] }
        switch backend {
        case .sqlite:
            for value in values {
                try connection.query("""
                    UPDATE interactions SET status = ?2, output = ?3, error = ?4, completed_at = ?5, latency_us = ?6 WHERE id = ?1
                    """, value)
            }
        case .postgres:
            // One statement for the lot: UPDATE … FROM (VALUES …).
            for chunk in stride(from: 0, to: values.count, by: 1000).map({ values[$0..<min(values.count, $0 + 1000)] }) {
                let tuples = (0..<chunk.count).map { row in
                    let b = row * 6
                    return "($\(b + 1)::bigint, $\(b + 2)::text, $\(b + 3)::bytea, $\(b + 4)::text, $\(b + 5)::bigint, $\(b + 6)::bigint)"
                }.joined(separator: ", ")
                try connection.query("""
                    UPDATE interactions AS i SET status = v.status, output = v.output, error = v.error, \
                    completed_at = v.completed_at, latency_us = v.latency_us \
                    FROM (VALUES \(tuples)) AS v(id, status, output, error, completed_at, latency_us) WHERE i.id = v.id
                    """, chunk.flatMap { $0 })
            }
        }
    }

    /// `[{"op":…,"table":…,"key":…}, …]`, printed directly: one per interaction with effects.
    static func summary(of effects: [Effect]) -> String {
        var text: [UInt8] = [UInt8(ascii: "[")]
        text.reserveCapacity(64 * effects.count)
        for (index, effect) in effects.enumerated() {
            text += (index == 0 ? #"{"op":""# : #",{"op":""#).utf8
            text += effect.operation.rawValue.utf8
            text += #"","table":"#.utf8
            JSON.writeString(effect.table.qualifiedName, to: &text)
            text += #","key":"#.utf8
            JSON.writeString(effect.key, to: &text)
            text.append(UInt8(ascii: "}"))
        }
        text.append(UInt8(ascii: "]"))
        return String(decoding: text, as: UTF8.self)
    }

    /// Started and ended events. Payloads are small and printed directly: the journal
    /// writes two per interaction, and the interaction row holds the input and output.
    private func lifecycleEvents(_ starts: [InteractionStart], _ finishes: [InteractionFinish]) -> [EventRecord] {
        var events: [EventRecord] = []
        events.reserveCapacity(starts.count + finishes.count)
        for start in starts {
            let actor = start.actorSHA256.map { "\"\($0)\"" } ?? "null"
            events.append(EventRecord(kind: "interaction_started", cause: start.cause, interactionID: start.id, payload:
                #"{"run":\#(start.runID),"step":\#(start.stepID),"attempt":\#(start.attempt),"actor_sha256":\#(actor),"input_bytes":\#(start.input.count)}"#))
        }
        for finish in finishes {
            let kind = switch finish.status {
            case .completed: "interaction_completed"
            case .timedOut: "interaction_timed_out"
            default: "interaction_failed"
            }
            var payload: [UInt8] = []
            payload.reserveCapacity(96)
            payload += #"{"status":"\#(finish.status.rawValue)","latency_us":\#(finish.latencyMicroseconds),"output_bytes":\#(finish.output?.count ?? 0),"error":"#.utf8
            if let error = finish.error { JSON.writeString(error, to: &payload) } else { payload += "null".utf8 }
            payload.append(UInt8(ascii: "}"))
            events.append(EventRecord(kind: kind, cause: finish.error ?? "the actor answered", interactionID: finish.id,
                                      payload: String(decoding: payload, as: UTF8.self)))
            events += finish.hostCallEvents
        }
        return events
    }

    func insertEvents(_ events: [EventRecord], now: Int64, _ connection: any SQLConnection) throws(StoreError) {
        try connection.insertRows("INSERT INTO events (kind, cause, interaction_id, payload, payload_sha256, created_at)", events.map {
            [.text($0.kind), .text($0.cause), $0.interactionID.map(SQLValue.integer) ?? .null, .text($0.payload),
             .text(ContentHash.sha256(of: Array($0.payload.storable.utf8))), .integer(now)]  // the hash of the text as stored
        }, suffix: "")
    }

    private func finishRuns(_ runs: [(runID: Int64, failure: String?)], now: Int64, _ connection: any SQLConnection) throws(StoreError) {
        let completed = runs.filter { $0.failure == nil }.map(\.runID)
        for chunk in stride(from: 0, to: completed.count, by: 500).map({ completed[$0..<min(completed.count, $0 + 500)] }) {
            try connection.query("""
                UPDATE runs SET status = 'completed', completed_at = \(connection.placeholder(1)) \
                WHERE id IN (\(connection.placeholders(chunk.count, from: 2)))
                """, [.integer(now)] + chunk.map { .integer($0) })
        }
        let p = connection.placeholder
        for run in runs where run.failure != nil {
            try connection.query("""
                UPDATE runs SET status = 'failed', error = \(p(1)), completed_at = \(p(2)) WHERE id = \(p(3))
                """, [.text(run.failure!), .integer(now), .integer(run.runID)])
        }
    }

    /// For a batch that had already landed: the refusals it recorded.
    private func refusals(recordedFor batch: JournalBatch, _ connection: any SQLConnection) throws(StoreError) -> [Int64: String] {
        let ids = batch.finishes.filter { !$0.effects.isEmpty && $0.applyEffects }.map(\.id)
        guard !ids.isEmpty else { return [:] }
        var refused: [Int64: String] = [:]
        for row in try connection.query("SELECT id, error FROM interactions WHERE status = 'failed' AND id IN (\(connection.placeholders(ids.count)))",
                                        ids.map { .integer($0) }) {
            if let id = row[0].integer, let error = row[1].text, error.hasPrefix("effect refused") { refused[id] = error }
        }
        return refused
    }
}
