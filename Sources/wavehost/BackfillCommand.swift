import ArgumentParser
import Foundation
import WavehostStore

/// `wavehost backfill TABLE`: history rows from another table or a JSONL export into a
/// declared table (docs/tables.md, "Backfill"). The work is the store's (`Store.backfill`).
struct BackfillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Import history rows into a declared table from another table or a JSONL export.",
        discussion: """
            Every remaining source row is checked against the table's declared columns first: one \
            that does not fit stops the backfill before it writes anything, naming its source id \
            (and line), column and type. Then rows are inserted in chunks, each its own short \
            transaction, with a ledger entry whose origin is backfill:SOURCE:ID: run again (or after \
            a kill), it imports nothing twice and carries on after the last committed chunk. A key \
            the table already has is a conflict, never overwritten. With --cutover-by COLUMN --time \
            COLUMN, source rows at or after the first row the new writers wrote for the same COLUMN \
            value are skipped and counted. Only TABLE, the ledger and the backfill's progress \
            (table backfills) are written.

            Exit status: 0 done, 2 bad input (an option, a table no workflow declares, a refused \
            row), 6 the database failed.
            """)

    @OptionGroup var store: TablesCommand.Location
    @Argument(help: "The table: namespace.name, or a name of namespace data.") var table: String
    @Option(name: .customLong("from-table"), help: ArgumentHelp("A table (or view) of the same database to read.", valueName: "table"))
    var fromTable: String?
    @Option(name: .customLong("from-jsonl"), help: ArgumentHelp("A JSONL file to read: one JSON object a line.", valueName: "file"))
    var fromJSONL: String?
    @Option(name: .customLong("source-id"), help: ArgumentHelp("The source field that identifies a row, unique in the source.", valueName: "field"))
    var sourceID: String
    @Option(name: .customLong("source-name"), help: "The name origins carry (default: the table's name, or the file's name).")
    var sourceName: String?
    @Option(help: "Source rows per chunk (one transaction each).") var chunk = 1_000
    @Option(help: ArgumentHelp("Milliseconds to wait between chunks, so other writers get their turn.", valueName: "ms")) var pause = 50
    @Flag(help: "Print what it would import (the same counts, and the source ids when few); write nothing.") var dryRun = false
    @Option(name: .customLong("cutover-by"), help: ArgumentHelp("The cutover guard's column (e.g. triggered_by); needs --time.", valueName: "column"))
    var cutoverBy: String?
    @Option(help: ArgumentHelp("The cutover guard's time column (e.g. checked_at).", valueName: "column")) var time: String?

    func validate() throws {
        guard (fromTable == nil) != (fromJSONL == nil) else { throw ValidationError("give one source: --from-table TABLE or --from-jsonl FILE") }
        guard chunk > 0 else { throw ValidationError("--chunk must be 1 or more") }
        guard pause >= 0 else { throw ValidationError("--pause must be 0 or more") }
        guard (cutoverBy == nil) == (time == nil) else { throw ValidationError("--cutover-by and --time go together") }
    }

    func run() throws {
        let opened = try openStore(store.database)
        let name = TableSchema.qualified(table)
        let declared: Store.DeclaredTable?
        do { declared = try opened.declaredTable(name) } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        guard let declared else { throw ValidationError("no workflow declares a table \(name) (wavehost tables list shows those that do)") }
        let source: BackfillSource = fromTable.map { .table($0) } ?? .jsonl(path: fromJSONL!)
        let options = BackfillOptions(sourceID: sourceID, sourceName: sourceName, chunk: chunk, pause: .milliseconds(pause), dryRun: dryRun,
                                      cutover: cutoverBy.map { BackfillOptions.Cutover(column: $0, time: time!) })
        let clock = ContinuousClock()
        let started = clock.now
        var lastLine = started
        let report: BackfillReport
        do {
            report = try opened.backfill(into: declared.schema, from: source, options: options) { report in
                // At most a line a second on stderr; stdout keeps the summary.
                guard clock.now - lastLine >= .seconds(1) || report.chunks == 1 else { return }
                lastLine = clock.now
                printError("backfill \(name): chunk \(report.chunks), \(report.read) source rows read, "
                           + "\(report.imported) \(report.dryRun ? "to import" : "imported")")
            }
        } catch {
            printError("error: \(error.code == .tableRefused ? error.message : error.description)")
            throw error.code == .tableRefused ? ExitStatus.badInput : ExitStatus.storeError
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(Self.summary(report, table: name, seconds: seconds))
    }

    static func summary(_ report: BackfillReport, table: String, seconds: Double) -> String {
        var lines: [String] = []
        if let position = report.resumedAfter {
            lines.append("carried on an interrupted backfill after source position \(position) (\(report.importedBefore) rows imported before)")
        }
        lines.append("\(table) from \(report.source): \(report.read) source rows read in \(report.chunks) chunks, \(String(format: "%.2f", seconds)) s"
                     + (report.dryRun ? " (dry run: nothing was written)" : ""))
        let perValue = report.skippedByCutover.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("\(report.dryRun ? "would import" : "imported") \(report.imported), already imported \(report.alreadyImported), "
                     + "skipped by cutover \(report.skipped)\(perValue.isEmpty ? "" : " (\(perValue))"), conflicts \(report.conflicts), refused 0")
        if report.imported > 0, report.imported <= 20 {
            lines.append("source ids \(report.dryRun ? "it would import" : "imported"): \(report.importedIDs.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}
