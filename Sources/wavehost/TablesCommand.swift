import ArgumentParser
import Foundation
import WavehostJSON
import WavehostStore

/// `wavehost tables …`: the tables workflow files declare, as the store holds them, and
/// their rebuild from the effect ledger.
struct TablesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "List, describe and rebuild the tables workflows declare.",
        discussion: """
            A table `postings` of namespace `data` (the default) is `data.postings` on PostgreSQL \
            and `data_postings` on SQLite. Every applied effect is also in the append-only \
            `effect_ledger`, so a table can be rebuilt from it.
            """,
        subcommands: [List.self, Show.self, Rebuild.self])

    struct Location: ParsableArguments {
        @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
        var database: String?
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each declared table, its rows and the workflows that use it.")
        @OptionGroup var store: Location

        func run() throws {
            let opened = try openStore(store.database)
            let tables = try opened.declaredTables()
            guard !tables.isEmpty else {
                print("no declared tables yet: a workflow file declares them under `tables:` (docs/tables.md)")
                return
            }
            print("table                          rows  sql name                        writers; readers")
            for table in tables {
                let writers = table.users.filter { $0.access == .write }.map(\.workflow)
                let readers = table.users.filter { $0.access == .read }.map(\.workflow)
                print([table.schema.qualifiedName.padding(28), String(table.rows).leftPadded(6), sqlName(table.schema, opened.backend).padding(31),
                       writers.joined(separator: ", ") + (readers.isEmpty ? "" : "; " + readers.joined(separator: ", "))].joined(separator: " "))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A table's columns, key, indexes and users.")
        @OptionGroup var store: Location
        @Argument(help: "The table: namespace.name, or a name of namespace data.") var table: String

        func run() throws {
            let opened = try openStore(store.database)
            let name = TableSchema.qualified(table)
            guard let declared = try opened.declaredTables().first(where: { $0.schema.qualifiedName == name }) else {
                throw ValidationError("no workflow declares a table \(name) (wavehost tables list shows those that do)")
            }
            let schema = declared.schema
            print("\(name): \(declared.rows) rows, \(sqlName(schema, opened.backend)) in SQL\(schema.isShortForm ? " (short form)" : "")")
            for column in schema.columns {
                let notes = [schema.key.contains(column.name) ? "key" : nil, column.required && !schema.key.contains(column.name) ? "required" : nil,
                             schema.freshness == column.name ? "freshness: upserts keep the newer row" : nil,
                             schema.references.first { $0.column == column.name }.map { "references \($0.table).\($0.targetColumn)" }]
                    .compactMap { $0 }
                print("  \(column.name.padding(24)) \(column.type.rawValue.padding(10)) \(notes.joined(separator: ", "))")
            }
            print("  (and _interaction_id, _run_id, _written_at, _origin: which interaction and run wrote the row, when, and the origin of a write no interaction made)")
            for index in schema.indexes { print("  index on \(index.joined(separator: ", "))") }
            print("  owner: \(declared.owner)" + (declared.writers.isEmpty ? "" : "; also written by \(declared.writers.joined(separator: ", "))"))
            let readers = declared.users.filter { $0.access == .read }.map(\.workflow)
            if !readers.isEmpty { print("  read by: \(readers.joined(separator: ", "))") }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild a table from the effect ledger.",
            discussion: """
                Replays the table's ledger into a work table in chunks, then makes the live table \
                equal to it in one transaction. Interrupted, it carries on from the last chunk when \
                run again; on an intact table it changes nothing.
                """)
        @OptionGroup var store: Location
        @Argument(help: "The table: namespace.name, or a name of namespace data.") var table: String
        @Flag(help: "Count what it would change; change nothing.") var dryRun = false
        @Option(help: "Ledger entries per transaction.") var chunk = 10_000

        func validate() throws {
            guard chunk > 0 else { throw ValidationError("--chunk must be 1 or more") }
        }

        func run() throws {
            let opened = try openStore(store.database)
            let name = TableSchema.qualified(table)
            let started = ContinuousClock.now
            let report = try opened.rebuildTable(name, dryRun: dryRun, chunk: chunk) { done, total in
                print("replayed \(done) of \(total) ledger entries")
                fflush(nil)
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if report.resumed { print("carried on an interrupted rebuild") }
            print("\(name): \(report.entries) ledger entries replayed, \(report.rows) rows, in \(String(format: "%.2f", seconds)) s")
            let verb = dryRun ? "would insert" : "inserted"
            print("\(verb) \(report.inserted), \(dryRun ? "would update" : "updated") \(report.updated), "
                  + "\(dryRun ? "would delete" : "deleted") \(report.deleted)"
                  + (report.inserted + report.updated + report.deleted == 0 ? " (the table matched its ledger)" : ""))
        }
    }
}

private func sqlName(_ schema: TableSchema, _ backend: Store.Backend) -> String {
    backend == .postgres ? schema.qualifiedName : "\(schema.namespace)_\(schema.name)"
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
