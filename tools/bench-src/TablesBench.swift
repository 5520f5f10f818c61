import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostStore

/// Declared tables: a rebuild's rate, ledger entries replayed per second by
/// `Store.rebuildTable` over a table of 100,000 entries (one per row), beside the same
/// database's bulk insert of those rows into a scratch table of the same columns and key
/// (multi-row INSERT on SQLite, COPY on PostgreSQL), measured in the same run. The ledger
/// is filled the way production fills it: a one-step workflow (echo-c, in-process) saving
/// each subject's echo as a typed row.
func benchTables(_ context: BenchContext) throws {
    let count = 100_000
    let subjects = (0..<count).map { Subject(key: "s\($0)", payload: ["n": .integer($0), "title": "Senior Swift engineer"]) }
    let workflow = """
        workflow: bench-rebuild
        tables:
          entries: {columns: {id: text, n: integer, title: text}, key: id}
        steps:
          save: {actor: echo-c, isolation: inprocess, input: subject, save: {table: entries, rows: echo, subject: id}}
        """
    let definition = try WorkflowParser(file: "bench-rebuild.yaml").parse(workflow)
    let catalog = ActorCatalog(registry: PluginRegistry(loader: context.trustingLoader(["EchoC"])))
    try catalog.add(context.plugin("EchoC"))

    let databases = try context.databases(group: "tables", file: "rebuild.db")

    for (name, location) in databases {
        let store = try Store(location: location)
        var options = Engine.Options()
        options.concurrency = 2
        let progress = try Engine(store: store, catalog: catalog, options: options).run(definition, source: workflow, subjects: subjects)
        guard progress.runsCompleted == count else { throw BenchError("\(name): \(progress.runsCompleted) runs completed, expected \(count)") }
        let floor = try store.bulkInsertRowsPerSecond(copying: "data.entries")
        guard floor.rows == count else { throw BenchError("\(name): data.entries holds \(floor.rows) rows, expected \(count)") }
        report("tables.\(name).floor_bulk_insert_rows", floor.perSecond, "rows/s")
        let clock = ContinuousClock()
        let started = clock.now
        let rebuilt = try store.rebuildTable("data.entries")
        let elapsed = clock.now - started
        guard rebuilt.entries == count, rebuilt.rows == count, rebuilt.inserted + rebuilt.updated + rebuilt.deleted == 0 else {
            throw BenchError("\(name): the rebuild replayed \(rebuilt.entries) entries into \(rebuilt.rows) rows and changed "
                + "\(rebuilt.inserted + rebuilt.updated + rebuilt.deleted), expected \(count), \(count) and none")
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        report("tables.\(name).rebuild_rows", Double(count) / seconds, "rows/s")
    }
}
