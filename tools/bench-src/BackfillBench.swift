import Foundation
import Synchronization
import WavehostJSON
import WavehostStore

/// `wavehost backfill`'s cost: source rows imported per second by `Store.backfill` (from
/// a table of 50,000 rows, 1,000 a chunk, the cutover guard on), beside the same database's
/// bulk insert of those rows (multi-row INSERT on SQLite, COPY on PostgreSQL) measured in
/// the same run; and what it costs the table's other writers: a second connection inserting
/// single rows into the same table back to back (`applyOutsideInteraction`, one commit each)
/// while a backfill with the default pause (50 ms) runs, each insert's latency timed, max
/// and p99, beside the same writer alone.
func benchBackfill(_ context: BenchContext) throws {
    let count = 50_000
    let databases = try context.databases(group: "backfill", file: "backfill.db")

    func schema(_ name: String) -> TableSchema {
        TableSchema(namespace: "data", name: name,
                    columns: [.init(name: "event_id", type: .text), .init(name: "agent", type: .text), .init(name: "triggered_by", type: .text),
                              .init(name: "checked_at", type: .timestamp), .init(name: "state", type: .text)],
                    key: ["event_id"], indexes: [["triggered_by"]])
    }
    let cutover = BackfillOptions.Cutover(column: "triggered_by", time: "checked_at")

    for (name, location) in databases {
        let store = try Store(location: location)
        try store.fillBackfillSource("bench_old_history", rows: count)
        let quiet = schema("backfill_quiet"), busy = schema("backfill_busy")
        try store.declareTables([TableDeclaration(schema: quiet, access: .write), TableDeclaration(schema: busy, access: .write)],
                                workflow: "bench-backfill")
        // The new writers' first rows, after every source row: the guard looks, and skips none.
        for table in [quiet, busy] {
            let row: JSON = ["event_id": "canonical-1", "agent": "agent-1", "triggered_by": "schedule", "checked_at": "2027-01-01T00:00:00Z", "state": "passing"]
            try store.applyOutsideInteraction([Effect(operation: .insert, table: table, key: "canonical-1", row: row)], origin: nil)
        }

        // Alone: as fast as it goes (no pause).
        let clock = ContinuousClock()
        var started = clock.now
        let alone = try store.backfill(into: quiet, from: .table("bench_old_history"),
                                       options: BackfillOptions(sourceID: "id", chunk: 1_000, pause: .zero, cutover: cutover))
        let aloneSeconds = seconds(clock.now - started)
        guard alone.imported == count else { throw BenchError("\(name): the backfill imported \(alone.imported) of \(count) rows") }
        let floor = try store.bulkInsertRowsPerSecond(copying: "data.backfill_quiet")
        report("backfill.\(name).floor_bulk_insert_rows", floor.perSecond, "rows/s")
        report("backfill.\(name).backfill_rows", Double(count) / aloneSeconds, "rows/s")

        // A writer beside it: single-row inserts into the same table, each its own commit.
        let writer = try Store(location: location)
        let shared = WriterBeside()
        let insertOne: @Sendable () throws -> Double = {
            let n = shared.sequence.add(1, ordering: .relaxed).newValue
            let key = "writer-\(n)"
            let row: JSON = ["event_id": .string(key), "agent": "agent-w", "triggered_by": "push", "checked_at": "2027-01-02T00:00:00Z", "state": "passing"]
            let before = nanoseconds()
            try writer.applyOutsideInteraction([Effect(operation: .insert, table: busy, key: key, row: row)], origin: nil)
            return Double(nanoseconds() - before) / 1e6
        }
        var baseline: [Double] = []
        let baselineEnd = clock.now + .seconds(1)
        while clock.now < baselineEnd { baseline.append(try insertOne()) }
        let thread = Thread {
            while !shared.done.load(ordering: .acquiring) {
                do {
                    let latency = try insertOne()
                    shared.latencies.withLock { $0.append(latency) }
                } catch {
                    shared.failure.withLock { $0 = "\(error)" }
                    return
                }
            }
        }
        thread.start()
        started = clock.now
        let beside = try store.backfill(into: busy, from: .table("bench_old_history"), options: BackfillOptions(sourceID: "id", sourceName: "bench_old_history_busy", cutover: cutover))
        let besideSeconds = seconds(clock.now - started)
        shared.done.store(true, ordering: .releasing)
        while !thread.isFinished { usleep(1_000) }
        if let failure = shared.failure.withLock({ $0 }) { throw BenchError("\(name): the writer beside the backfill failed: \(failure)") }
        guard beside.imported == count else { throw BenchError("\(name): the backfill beside a writer imported \(beside.imported) of \(count) rows") }
        let measured = shared.latencies.withLock { $0 }.sorted()
        baseline.sort()
        report("backfill.\(name).backfill_rows_beside_writer", Double(count) / besideSeconds, "rows/s")
        report("backfill.\(name).writer_inserts_during_backfill", Double(measured.count), "inserts")
        report("backfill.\(name).writer_wait_max", measured.last ?? 0, "ms")
        report("backfill.\(name).writer_wait_p99", percentile(measured, 0.99), "ms")
        report("backfill.\(name).writer_alone_max", baseline.last ?? 0, "ms")
        report("backfill.\(name).writer_alone_p99", percentile(baseline, 0.99), "ms")
    }
}

/// What the writer beside a backfill and the bench share.
private final class WriterBeside: Sendable {
    let sequence = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
    let latencies = Mutex<[Double]>([])
    let failure = Mutex<String?>(nil)
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

private func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
}
