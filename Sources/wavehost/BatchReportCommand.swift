import ArgumentParser
import Foundation
import WavehostEngine
import WavehostStore

/// `wavehost report batch WORKFLOW`: the batch judged by the job-posting plan's criteria.
struct BatchReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Judge a workflow's batch by the plan's criteria: runs through every step, fields, sibling start gaps, interventions.",
        discussion: """
            Reads the newest version of WORKFLOW from the store and prints, with a verdict \
            against the plan's thresholds: the runs that went through every step out of those \
            no condition stopped (at least 94%, as 47 of 50); for each table its effects wrote, \
            the rows with every field populated; for each group of steps with the same \
            dependencies, how far apart their first attempts started (p50, p95, max; within \
            100 ms, under 500 acceptable, over 1,000 a red flag); watchdog interventions \
            (interactions failed at their deadline or taken back from a stopped host; fewer \
            than 5); failures by step and cause; the total time. Shadow variants are left out. \
            Exit status: 0, 2 for an unknown workflow, 6 when the database is missing or fails.
            """)

    @Argument(help: "The workflow's name.")
    var workflow: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    func run() throws {
        let store = try openStore(database)
        let records: Store.BatchRecords?
        do { records = try store.batchRecords(workflow: workflow) } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        guard let records else {
            printError("error: no workflow named \(workflow) in the store (wavehost status lists them)")
            throw ExitStatus.badInput
        }
        let report = BatchReport(records)
        print(json ? report.json.text : report.text)
    }
}
