import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostStore

/// `wavehost load`: reproducible variations of the bundled postings through the built-in
/// champion/challenger workflow, with the report's sections, and clear errors.
@Suite struct LoadCommandTests {
    static var postings: String { TestPlugins.repositoryRoot + "/samples/postings.jsonl" }

    @Test func theSameSeedMakesTheSameSubjectsAndArrivals() throws {
        let seeds = try Subjects.lines(Self.postings, key: "external_id").map(\.payload)
        let one = LoadGenerator(seeds: seeds, seed: 7), again = LoadGenerator(seeds: seeds, seed: 7), other = LoadGenerator(seeds: seeds, seed: 8)
        let subjects = (0..<50).map { one.subject($0, prefix: "x") }
        #expect(subjects.map(\.payload) == (0..<50).map { again.subject($0, prefix: "x").payload })
        #expect(subjects.map(\.payload) != (0..<50).map { other.subject($0, prefix: "x").payload })
        #expect(Set(subjects.map(\.key)).count == 50)
        // Variations, not copies: titles and users differ across them.
        #expect(Set(subjects.compactMap { $0.payload["title"]?.stringValue }).count > 5)
        #expect(Set(subjects.compactMap { $0.payload["submitted_by"]?.stringValue }).count > 20)
        let arrivals = one.arrivals(200, rate: 100)
        #expect(arrivals == again.arrivals(200, rate: 100))
        #expect(zip(arrivals, arrivals.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(one.arrivals(3, rate: nil) == [0, 0, 0])
    }

    @Test func aLoadRunReportsThroughputLatencyAndTheVerdict() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let result = try TestPlugins.run(TestPlugins.cli, [
            "load", "--count", "300", "--seed", "3", "--seeds", Self.postings, "--actor", try TestPlugins.product("EchoC"),
            "--database", folder + "/load.db", "--cache-dir", folder + "/cache"])
        #expect(result.status == 0, "\(result.error)")
        for line in ["runs: ", "throughput: ", "latency (added → finished): p50 ", "variant 1 echo-c (champion, weight 50)",
                     "variant 2 echo-c (challenger, weight 50)", "verdict for variant 2: "] {
            #expect(result.output.contains(line), "\(line) in \(result.output)")
        }
        let store = try Store(location: folder + "/load.db")
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status IN ('completed', 'failed')") == 300)
        // Both variants served: the split is by subject, about half each.
        let served = try store.rows("SELECT variant_id, COUNT(*) FROM interactions GROUP BY variant_id").compactMap { $0[1].integer }
        #expect(served.count == 2 && served.allSatisfy { $0 > 90 }, "\(served)")
    }

    @Test func badOptionsAreClearErrors() throws {
        let echo = try TestPlugins.product("EchoC")
        for (arguments, message) in [
            (["--rate", "0", "--actor", echo], "--rate must be a positive number"),
            (["--count", "10"], "give the actors with --plugins"),
            (["--seeds", "/nonexistent.jsonl", "--actor", echo], "/nonexistent.jsonl: cannot read the seed records"),
            (["--step", "nope", "--actor", echo, "--seeds", Self.postings], "workflow load has no step nope"),
        ] {
            let result = try TestPlugins.run(TestPlugins.cli, ["load"] + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
