import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// A workflow with a heartbeat (`every:`) runs each subject once per slot of time, and on
/// demand (`run --trigger`) again: each occasion is its own run, whose steps see `trigger`.
@Suite struct HeartbeatTests {
    /// echo-c answers `{"echo": <its input>}`: here the run's trigger.
    static func workflow(_ folder: String, every: String) throws -> String {
        let file = folder + "/beat.yaml"
        try """
            workflow: beat
            every: \(every)
            subjects: {single: agent-1}
            steps:
              only: {actor: echo-c, input: trigger}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Each completed run's trigger, as its step answered it.
    static func triggers(_ store: Store) throws -> [[String: Any]] {
        try store.rows("""
            SELECT i.output FROM interactions i JOIN runs r ON r.id = i.run_id \
            WHERE r.status = 'completed' AND i.status = 'completed' ORDER BY r.id
            """).map { row in
            let output: Data = if case .blob(let bytes) = row[0] { Data(bytes) } else { Data((row[0].text ?? "").utf8) }
            let echo = try JSONSerialization.jsonObject(with: output) as? [String: Any]
            return echo?["echo"] as? [String: Any] ?? [:]
        }
    }

    @Test func runAddsOneRunPerSlotAndEachTriggerANewOne() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let file = try Self.workflow(folder, every: "1h")
        let echo = try TestPlugins.product("EchoC")
        let base = ["run", file, "--database", folder + "/w.db", "--actor", echo, "--cache-dir", folder + "/cache", "--quiet"]
        // Twice in one hour's slot: one run.
        for _ in 0..<2 {
            let result = try TestPlugins.run(TestPlugins.cli, base)
            #expect(result.status == 0, "\(result.error)")
        }
        let store = try Store(location: folder + "/w.db")
        #expect(try store.count("SELECT COUNT(*) FROM runs") == 1)
        // The owner's test and a third party's are new runs now, whatever the slot.
        #expect(try TestPlugins.run(TestPlugins.cli, base + ["--subject", "agent-1", "--trigger", "owner_test"]).status == 0)
        #expect(try TestPlugins.run(TestPlugins.cli, base + ["--trigger", "third_party", "--as", "acme"]).status == 0)
        let triggers = try Self.triggers(store)
        #expect(triggers.map { $0["by"] as? String } == ["heartbeat", "owner_test", "third_party"])
        #expect(triggers.map { $0["as"] as? String } == [nil, nil, "acme"])
        let slot = try #require(triggers.first?["at"] as? String)
        #expect(slot.hasSuffix(":00:00.000Z"), "a heartbeat's time is its slot's start: \(slot)")
        #expect(triggers.allSatisfy { ($0["occasion"] as? String)?.hasPrefix(($0["by"] as? String ?? "?") + ":") == true })
        #expect(try store.count("SELECT COUNT(DISTINCT occasion) FROM runs WHERE subject = 'agent-1'") == 3)

        // Mistakes are refused with what to do, before anything runs.
        let unknown = try TestPlugins.run(TestPlugins.cli, base + ["--subject", "agent-9", "--trigger", "owner_test"])
        #expect(unknown.status == 2 && unknown.error.contains(#"no subject "agent-9""#) && unknown.error.contains("agent-1"), "\(unknown.error)")
        let nobody = try TestPlugins.run(TestPlugins.cli, base + ["--trigger", "third_party"])
        #expect(nobody.status == 2 && nobody.error.contains("--as NAME"), "\(nobody.error)")
        #expect(try store.count("SELECT COUNT(*) FROM runs") == 3)
    }

    @Test func twoHostsServingOnePostgresRunEachSlotOnce() throws {
        let database = try PostgresServer.makeDatabase()
        let folder = try TestPlugins.temporaryDirectory()
        let file = try Self.workflow(folder, every: "1s")
        let plugins = folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestPlugins.product("EchoC"), toPath: plugins + "/libEchoC.so")
        // Started at the same instant: both add each second's run, and the database keeps one.
        let hosts = try (0..<2).map { index in
            try ServeHost(folder: folder, [file, "--plugins", plugins, "--database", database, "--every", "0.2",
                                           "--cache-dir", folder + "/cache-\(index)"], logName: "serve-\(index).log")
        }
        let store = try Store(location: database)
        let started = Date()
        try hosts[0].wait(for: "four heartbeats completed") {
            try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") >= 4
        }
        for host in hosts { #expect(host.stop(with: SIGTERM) == 0, "\(host.output)") }
        let seconds = Date().timeIntervalSince(started)
        let runs = try store.count("SELECT COUNT(*) FROM runs")
        #expect(runs <= Int(seconds.rounded(.up)) + 2, "\(runs) runs in \(seconds) s: a slot was run twice")
        #expect(try store.count("SELECT COUNT(DISTINCT occasion) FROM runs") == runs)
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'failed'") == 0)
        #expect(try Self.triggers(store).allSatisfy { $0["by"] as? String == "heartbeat" })
    }
}
