import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// `wavehost serve` keeps its engine, and so its worker pools, across passes: the same
/// worker processes serve pass after pass, and a pass with nothing to do starts none.
/// (Before the service, each pass built an engine and a pool: one worker leaked per pass,
/// 17 after 20 s at `--every 1`.)
@Suite struct ServeProcessTests {
    @Test func servingKeepsTheSameWorkersAcrossPasses() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let plugins = folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestPlugins.product("EchoC"), toPath: plugins + "/libEchoC.so")
        let subjects = folder + "/subjects.jsonl"
        try "".write(toFile: subjects, atomically: true, encoding: .utf8)
        try """
            workflow: serve-processes
            subjects: {file: subjects.jsonl, key: id}
            steps:
              only: {actor: echo-c, input: subject}
            """.write(toFile: folder + "/serve.yaml", atomically: true, encoding: .utf8)
        // --concurrency 1: one worker, whatever the timing.
        let host = try ServeHost(folder: folder, [folder + "/serve.yaml", "--plugins", plugins, "--database", folder + "/wavehost.db",
                                                  "--every", "0.1", "--concurrency", "1", "--cache-dir", folder + "/cache",
                                                  "--log-level", "debug"])
        // Passes with nothing unfinished: no engine runs, no worker starts. The one process
        // serve may hold is its worker zygote (the folder scan read descriptors through it).
        try host.wait(for: "three idle passes") { host.passes >= 3 }
        let isZygote = { (pid: pid_t) in ProcessFacts.commandLine(of: pid) == ["wavehost-worker", "zygote"] }
        var zygotes = host.descendants.filter(isZygote)
        #expect(zygotes.count <= 1, "\(zygotes.sorted())")
        #expect(host.descendants.subtracting(zygotes).isEmpty, "an idle pass started processes: \(host.descendants.sorted())\n\(host.output)")

        // A minute of batches of work (twelve at least), each taken on by a later pass; the
        // workers of the first stay.
        let store = try Store(location: folder + "/wavehost.db")
        var lines: [String] = []
        var first: Set<pid_t> = []
        var samples: [Set<pid_t>] = []
        let minute = ContinuousClock.now + .seconds(60)
        var batch = 0
        while batch < 12 || ContinuousClock.now < minute {
            defer { batch += 1 }
            lines += (0..<3).map { #"{"id":"b\#(batch)-\#($0)"}"# }
            try lines.joined(separator: "\n").write(toFile: subjects, atomically: true, encoding: .utf8)
            try host.wait(for: "batch \(batch) completed") {
                try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == lines.count
            }
            // Two more passes, idle ones, before the next batch.
            let passes = host.passes
            try host.wait(for: "two more passes") { host.passes >= passes + 2 }
            let all = host.descendants
            zygotes.formUnion(all.filter(isZygote))
            let now = all.subtracting(zygotes)
            if batch == 0 { first = now }
            samples.append(now)
        }
        let passesWithWork = host.output.components(separatedBy: "interactions this pass").count - 1
        #expect(passesWithWork >= batch, "\(host.output)")
        #expect(host.passes >= 3 + batch * 3, "\(host.output)")
        // One worker (here a proxy, an init and a server; fewer where namespaces are missing).
        #expect(!first.isEmpty && first.count <= 3, "\(first.sorted())")
        #expect(zygotes.count == 1, "one zygote for the host's one worker executable: \(zygotes.sorted())")
        for (batch, sample) in samples.enumerated() {
            #expect(sample == first, "after batch \(batch) the processes under serve were \(sample.sorted()), first \(first.sorted())")
        }
        #expect(host.stop(with: SIGTERM) == 0, "\(host.output)")
        // stderr is a file here, not a terminal: every log line is one JSON object.
        let logLines = host.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(logLines.count >= host.passes)
        #expect(!host.output.contains(" debug wavehost.") && !host.output.contains(" info wavehost."), "a human log line: \(host.output)")
        for line in logLines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object.map { Set($0.keys) } == ["time", "level", "label", "message", "metadata"], "\(line)")
        }
        // The pools retired with the service: none of its workers outlives it.
        try host.wait(for: "workers gone", limit: 200) { first.union(zygotes).allSatisfy { !ProcessFacts.isAlive($0) } }
    }
}

/// A background task's error is logged with its cause, and serving goes on.
@Suite struct ServeBackgroundIssueTests {
    @Test func aBadSubjectsFileIsLoggedWithItsCauseAndServingGoesOn() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestPlugins.product("EchoC"), toPath: folder + "/plugins/libEchoC.so")
        let subjects = folder + "/subjects.jsonl"
        try "{\"id\":\"a\"}\n{not json\n".write(toFile: subjects, atomically: true, encoding: .utf8)
        try "workflow: issues\nsubjects: {file: subjects.jsonl, key: id}\nsteps:\n  only: {actor: echo-c, input: subject}\n"
            .write(toFile: folder + "/issues.yaml", atomically: true, encoding: .utf8)
        let host = try ServeHost(folder: folder, [folder + "/issues.yaml", "--plugins", folder + "/plugins", "--database", folder + "/wavehost.db",
                                                  "--every", "0.1", "--cache-dir", folder + "/cache"])
        try host.wait(for: "the subjects error logged") { host.output.contains("subjects.jsonl:2: not JSON") }
        let line = try #require(host.output.split(separator: "\n").first { $0.contains("subjects.jsonl:2: not JSON") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(object["level"] as? String == "error", "\(line)")
        #expect((object["metadata"] as? [String: String])?["task"] == "subjects", "\(line)")
        // Fixed, the file's subjects are taken on by the next pass.
        try "{\"id\":\"a\"}\n{\"id\":\"b\"}\n".write(toFile: subjects, atomically: true, encoding: .utf8)
        let store = try Store(location: folder + "/wavehost.db")
        try host.wait(for: "both runs completed") { try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == 2 }
        #expect(host.stop(with: SIGTERM) == 0, "\(host.output)")
    }
}

extension ServeHost {
    /// Passes logged so far (`--log-level debug` logs one line per workflow and pass).
    var passes: Int { output.components(separatedBy: #""message":"pass""#).count - 1 }
}
