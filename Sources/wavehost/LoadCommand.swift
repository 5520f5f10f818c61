import ArgumentParser
import Foundation
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostStore

/// `wavehost load`: a synthetic load generator over a champion/challenger workflow.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Feed generated variations of seed records through a champion/challenger workflow and measure it.",
        discussion: """
            From the seed records (JSON Lines; the bundled samples/postings.jsonl by default) it \
            generates --count variations — title level, location, remote, salary band, \
            description length, a random submitting user — reproducibly from --seed, and feeds \
            them as subjects at --rate per second (Poisson arrivals) or, without --rate, all \
            at once. They run through --workflow (default: a built-in one whose step `screen` \
            splits 50/50 between echo-c as champion and echo-c refusing records over 420 bytes \
            as challenger). At the end it prints throughput, latency percentiles (subject \
            added → run finished) and each variant's record at --step with the verdict of \
            `wavehost compare`. Exit status: 0, 2 for bad options, seeds or workflow, 3 for an \
            actor that cannot be loaded, 6 when the database is unusable.
            """)

    static let builtInWorkflow = """
        workflow: load
        steps:
          screen:
            input: subject
            variants:
              - {actor: echo-c, role: champion, weight: 50}
              - {actor: echo-c, role: challenger, weight: 50, config: {max_bytes: 420}}
        """

    @Option(help: "Subjects to generate.")
    var count = 1000

    @Option(help: "Subjects per second on average (Poisson arrivals); as fast as possible when omitted.")
    var rate: Double?

    @Option(help: "The random seed: the same seed generates the same subjects and arrivals.")
    var seed: UInt64 = 1

    @Option(help: "Seed records, one JSON object per line.")
    var seeds = "samples/postings.jsonl"

    @Option(help: "A workflow file with a step of live champion/challenger variants (default: the built-in one, see above).")
    var workflow: String?

    @Option(help: "The step whose variants are compared.")
    var step = "screen"

    @OptionGroup var host: HostOptions

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions
    @OptionGroup var sandbox: SandboxOptions

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1…10000000") }
        if let rate { guard rate > 0 && rate.isFinite else { throw ValidationError("--rate must be a positive number of subjects per second") } }
        guard !host.pluginFolders.isEmpty || !host.actorFiles.isEmpty else {
            throw ValidationError("give the actors with --plugins DIR (e.g. .build/release, which holds echo-c) or --actor FILE")
        }
    }

    func run() throws {
        let seedRecords = try readSeeds()
        let catalog = try loadCatalog(host.pluginFolders, files: host.actorFiles, cache: cache, trusted: PluginTrust(trust.hashes), sandbox: sandbox)
        let (source, definition) = try readWorkflow(catalog)
        guard let compared = definition.steps.first(where: { $0.name == step }) else {
            printError("error: workflow \(definition.name) has no step \(step) (its steps: \(definition.steps.map(\.name).joined(separator: ", ")))")
            throw ExitStatus.badInput
        }
        guard compared.variants.contains(where: { $0.role == .champion }), compared.variants.contains(where: { $0.role == .challenger }) else {
            printError("error: step \(step) of \(definition.name) needs a champion and a challenger among its variants")
            throw ExitStatus.badInput
        }
        let store: Store
        do { store = try Store(location: Store.defaultLocation(host.database)) } catch {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        var load = LoadRun(store: store, catalog: catalog)
        load.options.concurrency = host.concurrency
        let pace = rate.map { String(format: "at %.1f/s", $0) } ?? "as fast as possible"
        printError("load: \(count) subjects from \(seedRecords.count) seed records (seed \(seed)), \(pace), through \(definition.name) on \(store.database)")
        let report: LoadRun.Report
        do {
            report = try load.run(definition, source: source, step: step, generator: LoadGenerator(seeds: seedRecords, seed: seed),
                                  count: count, rate: rate)
        } catch let error as PluginError {
            throw fail(error)
        } catch let error as StoreError {
            printError("error: \(error)")
            throw ExitStatus.storeError
        }
        printReport(report)
    }

    private func printReport(_ report: LoadRun.Report) {
        let seconds = max(report.seconds, 1e-9)
        print("runs: \(report.runsCompleted) completed, \(report.runsFailed) failed of \(report.subjects)")
        print(String(format: "throughput: %.1f subjects/s, %.1f interactions/s over %.2f s",
                     Double(report.runsCompleted + report.runsFailed) / seconds, Double(report.interactions) / seconds, seconds))
        let percentiles = [50, 90, 95, 99, 100].map { percent in
            "\(percent == 100 ? "max" : "p\(percent)") \(report.latency(percent).map { "\($0) ms" } ?? "-")"
        }
        print("latency (added → finished): " + percentiles.joined(separator: ", "))
        print("step \(step):")
        for record in report.records {
            print(String(format: "  variant %lld %@ (%@, weight %d): %d finished, %.1f%% success, p50 %@, p95 %@",
                         record.variantID, record.actor, record.role.rawValue, record.weight, record.finished, record.successRate * 100,
                         record.p50Milliseconds.map { String(format: "%.2f ms", $0) } ?? "-",
                         record.p95Milliseconds.map { String(format: "%.2f ms", $0) } ?? "-"))
        }
        for (challenger, verdict) in report.verdicts {
            print("verdict for variant \(challenger): \(verdict.decision.rawValue) — \(verdict.reason)")
        }
    }

    private func readSeeds() throws -> [JSON] {
        guard let data = FileManager.default.contents(atPath: seeds) else {
            printError("error: \(seeds): cannot read the seed records (give --seeds FILE, JSON Lines; the bundled ones are samples/postings.jsonl)")
            throw ExitStatus.badInput
        }
        var records: [JSON] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where line.contains(where: { $0 > 32 }) {
            guard let record = try? JSON.parse(line), case .object = record else {
                printError("error: \(seeds):\(number + 1): not a JSON object")
                throw ExitStatus.badInput
            }
            records.append(record)
        }
        guard !records.isEmpty else {
            printError("error: \(seeds): no seed records")
            throw ExitStatus.badInput
        }
        return records
    }

    private func readWorkflow(_ catalog: ActorCatalog) throws -> (String, WorkflowDefinition) {
        let file = workflow ?? "load (built in)"
        do {
            let parser = WorkflowParser(file: file, knownActors: catalog.names)
            let source = try workflow.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? Self.builtInWorkflow
            return (source, try parser.parse(source))
        } catch let error as WorkflowError {
            printError("error: \(error)")
            throw ExitStatus.badInput
        } catch {
            printError("error: \(file): cannot read the workflow file: \(error.localizedDescription)")
            throw ExitStatus.badInput
        }
    }
}
