import Foundation
import WavehostJSON
import WavehostStore

/// A batch judged by the job-posting plan's criteria: runs through every step out of those a
/// condition let through, every field of every saved row populated, sibling steps that start
/// together, few watchdog interventions; with failures by cause and the total time.
public struct BatchReport: Sendable {
    public enum Verdict: String, Sendable {
        case met, acceptable, notMet = "not met", redFlag = "red flag"
    }

    public struct Criterion: Sendable {
        public let name: String
        public let figure: String
        public let plan: String
        public let verdict: Verdict
    }

    /// Steps with the same dependencies, which start together, and how far apart they did.
    public struct SiblingGaps: Sendable {
        public let steps: [String]
        /// Runs where each of them had a first attempt.
        public let runs: Int
        public let p50, p95, max: Int64
    }

    public struct TableFields: Sendable {
        public let table: String
        public let rows: Int
        /// Rows whose every field holds something (not null, not an empty string or list).
        public let complete: Int
        public let fields: [String]
    }

    public let workflow: String
    public let runs: Int
    public let throughEveryStep: Int
    /// Runs a step's condition stopped (the validator's refusals): not the batch's to finish.
    public let stoppedByCondition: Int
    public let tables: [TableFields]
    public let siblings: [SiblingGaps]
    /// Interactions the host failed at their deadline, or took back from a host that stopped.
    public let watchdogInterventions: Int
    /// Failed interactions by step and cause, most first.
    public let failures: [(step: String, cause: String, count: Int)]
    /// From the first interaction's start to the last one's end.
    public let totalMilliseconds: Int64

    /// The plan's thresholds: 47 of 50 through, gaps within 100 ms (500 acceptable, over
    /// 1,000 a red flag), fewer than 5 interventions.
    public static let requiredShare = 0.94
    public static let maxInterventions = 5

    public init(_ records: Store.BatchRecords) {
        workflow = records.workflow
        let names = records.steps.map(\.name)
        var byRun: [Int64: [String: [Store.BatchRecords.Interaction]]] = [:]
        for interaction in records.interactions { byRun[interaction.run, default: [:]][interaction.step, default: []].append(interaction) }
        runs = byRun.count
        throughEveryStep = byRun.values.filter { steps in names.allSatisfy { name in steps[name]?.contains { $0.status == .completed } == true } }.count
        // A run whose steps all ended well but some never ran: a condition skipped them.
        stoppedByCondition = byRun.values.filter { steps in
            steps.values.allSatisfy { $0.contains { $0.status == .completed } } && steps.count < names.count
        }.count
        tables = records.tables.keys.sorted().map { table in
            let rows = records.tables[table] ?? []
            var fields: [String] = []
            for row in rows { for (key, _) in row.objectValue ?? [] where !fields.contains(key) { fields.append(key) } }
            let complete = rows.filter { row in fields.allSatisfy { Self.populated(row[$0]) } }.count
            return TableFields(table: table, rows: rows.count, complete: complete, fields: fields)
        }
        var groups: [[String]: [String]] = [:]
        for step in records.steps { groups[step.after.sorted(), default: []].append(step.name) }
        siblings = groups.values.filter { $0.count > 1 }.sorted { names.firstIndex(of: $0[0])! < names.firstIndex(of: $1[0])! }.map { group in
            var gaps: [Int64] = []
            for steps in byRun.values {
                let starts = group.compactMap { name in steps[name]?.filter { $0.attempt == 1 }.compactMap(\.startedAt).min() }
                if starts.count == group.count, let first = starts.min(), let last = starts.max() { gaps.append(last - first) }
            }
            gaps.sort()
            func at(_ share: Double) -> Int64 { gaps.isEmpty ? 0 : gaps[min(gaps.count - 1, Int((Double(gaps.count) * share).rounded(.up)) - 1)] }
            return SiblingGaps(steps: group, runs: gaps.count, p50: at(0.5), p95: at(0.95), max: gaps.last ?? 0)
        }
        let ended = records.interactions.filter { $0.status == .failed || $0.status == .timedOut }
        watchdogInterventions = ended.filter { $0.status == .timedOut || $0.error?.hasPrefix(InteractionRecord.takenBackPrefix) == true }.count
        var causes: [String: Int] = [:]
        for interaction in ended { causes["\(interaction.step)\u{0}\(Self.cause(of: interaction.error ?? interaction.status.rawValue))", default: 0] += 1 }
        failures = causes.map { key, count in
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "", count)
        }.sorted { ($0.count, $1.step) > ($1.count, $0.step) }
        let starts = records.interactions.compactMap(\.startedAt), ends = records.interactions.compactMap(\.completedAt)
        totalMilliseconds = (starts.min()).flatMap { first in ends.max().map { $0 - first } } ?? 0
    }

    /// The criteria and their verdicts, in the plan's order.
    public var criteria: [Criterion] {
        var out: [Criterion] = []
        let eligible = runs - stoppedByCondition
        let share = eligible == 0 ? 0 : Double(throughEveryStep) / Double(eligible)
        out.append(Criterion(name: "runs through every step", figure: "\(throughEveryStep) of \(eligible)"
                                 + (stoppedByCondition > 0 ? " (\(stoppedByCondition) more stopped by a condition)" : ""),
                             plan: "at least 94% (47 of 50)", verdict: eligible > 0 && share >= Self.requiredShare ? .met : .notMet))
        for table in tables {
            out.append(Criterion(name: "fields populated: \(table.table)", figure: "\(table.complete) of \(table.rows) rows, \(table.fields.count) field\(table.fields.count == 1 ? "" : "s")",
                                 plan: "every field", verdict: table.complete == table.rows ? .met : .notMet))
        }
        for group in siblings {
            let verdict: Verdict = group.max <= 100 ? .met : group.max <= 500 ? .acceptable : group.max <= 1000 ? .notMet : .redFlag
            out.append(Criterion(name: "start gap: \(group.steps.joined(separator: " / "))",
                                 figure: "p50 \(group.p50) ms, p95 \(group.p95) ms, max \(group.max) ms (\(group.runs) runs)",
                                 plan: "within 100 ms; under 500 acceptable; over 1,000 a red flag", verdict: verdict))
        }
        out.append(Criterion(name: "watchdog interventions", figure: "\(watchdogInterventions)", plan: "fewer than 5",
                             verdict: watchdogInterventions < Self.maxInterventions ? .met : .notMet))
        return out
    }

    /// The report as a person reads it.
    public var text: String {
        var lines = ["Batch report: \(workflow), \(runs) runs, \(Self.duration(totalMilliseconds)) from the first call to the last"]
        let rows = criteria.map { [$0.name, $0.figure, $0.plan, $0.verdict.rawValue] }
        let widths = (0..<4).map { column in ([["criterion", "figure", "plan", "verdict"]] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [["criterion", "figure", "plan", "verdict"]] + rows {
            let line = "  " + zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            lines.append(String(line.reversed().drop { $0 == " " }.reversed()))
        }
        if failures.isEmpty {
            lines.append("Failures: none")
        } else {
            lines.append("Failures by cause (attempts; a retried one may have succeeded later):")
            for failure in failures { lines.append("  \(failure.count) × \(failure.step): \(failure.cause)") }
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSON {
        let criteria: [JSON] = self.criteria.map {
            ["name": .string($0.name), "figure": .string($0.figure), "plan": .string($0.plan), "verdict": .string($0.verdict.rawValue)]
        }
        return [
            "workflow": .string(workflow), "runs": .integer(runs), "through_every_step": .integer(throughEveryStep),
            "stopped_by_condition": .integer(stoppedByCondition), "watchdog_interventions": .integer(watchdogInterventions),
            "total_ms": .integer(totalMilliseconds), "criteria": .array(criteria),
            "tables": .array(tables.map { ["table": .string($0.table), "rows": .integer($0.rows), "complete": .integer($0.complete),
                                           "fields": .array($0.fields.map { .string($0) })] }),
            "sibling_gaps": .array(siblings.map { ["steps": .array($0.steps.map { .string($0) }), "runs": .integer($0.runs),
                                                   "p50_ms": .integer($0.p50), "p95_ms": .integer($0.p95), "max_ms": .integer($0.max)] }),
            "failures": .array(failures.map { ["step": .string($0.step), "cause": .string($0.cause), "count": .integer($0.count)] }),
        ]
    }

    static func populated(_ value: JSON?) -> Bool {
        switch value {
        case nil, .null?: false
        case .string(let text)?: !text.trimmingCharacters(in: .whitespaces).isEmpty
        case .array(let items)?: !items.isEmpty
        default: true
        }
    }

    /// An error's gist: its text up to the first quoted detail, numbers as N ("timed out
    /// after 201 ms" and "after 206 ms" are one cause), so one cause counts once.
    static func cause(of error: String) -> String {
        var gist = Substring(error)
        for mark in [": \"", " (\"", ": {", ": ["] { if let cut = gist.range(of: mark) { gist = gist[..<cut.lowerBound] } }
        var out = ""
        for character in gist.prefix(120) where !(character.isNumber && out.last == "N") {
            out.append(character.isNumber ? "N" : character)
        }
        return out
    }

    static func duration(_ milliseconds: Int64) -> String {
        milliseconds < 60_000 ? String(format: "%.1f s", Double(milliseconds) / 1000)
            : "\(milliseconds / 60_000) min \(milliseconds % 60_000 / 1000) s"
    }
}
