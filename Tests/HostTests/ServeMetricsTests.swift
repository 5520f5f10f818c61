import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// `/metrics` of a real `wavehost serve`, read by the Prometheus project's own Python parser
/// (`prometheus_client.parser`, installed by tools/setup), and the HTTP server's errors.
@Suite struct ServeMetricsTests {
    /// Fetches `url` and prints, as JSON, each family's type and samples (name, labels, value).
    static let parser = """
        import json, sys, urllib.request
        from prometheus_client.parser import text_string_to_metric_families
        text = urllib.request.urlopen(sys.argv[1], timeout=30).read().decode()
        print(json.dumps({f.name: {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
                          for f in text_string_to_metric_families(text)}))
        """

    static func scrape(_ url: String) throws -> [String: (type: String, samples: [(name: String, labels: [String: String], value: Double)])] {
        let result = try TestPlugins.run("/usr/bin/env", ["python3", "-c", parser, url])
        guard result.status == 0, let data = result.output.data(using: .utf8),
              let families = try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else {
            throw TestSetupError("the Prometheus parser failed on \(url) (tools/setup installs prometheus-client): \(result.error)")
        }
        return families.mapValues { family in
            let samples = (family["samples"] as? [[Any]] ?? []).map { sample in
                (name: sample[0] as? String ?? "", labels: sample[1] as? [String: String] ?? [:], value: (sample[2] as? NSNumber)?.doubleValue ?? .nan)
            }
            return (type: family["type"] as? String ?? "", samples: samples)
        }
    }

    @Test func interactionCountersEqualTheStoresCounts() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let plugins = folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestPlugins.product("EchoC"), toPath: plugins + "/libEchoC.so")
        try FileManager.default.copyItem(atPath: try TestPlugins.hostile(), toPath: plugins + "/libhostile.so")
        // Four subjects pass both steps; two make the hostile actor exit (a crash), twice each (two attempts).
        let subjects = (0..<4).map { #"{"id":"ok\#($0)","do":"echo"}"# } + (0..<2).map { #"{"id":"bad\#($0)","do":"exit"}"# }
        try subjects.joined(separator: "\n").write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        try """
            workflow: metrics
            subjects: {file: subjects.jsonl, key: id}
            steps:
              echo: {actor: echo-c, input: subject}
              risky: {actor: hostile, input: subject, after: [echo], retries: {attempts: 2, backoff: 10ms}}
            """.write(toFile: folder + "/metrics.yaml", atomically: true, encoding: .utf8)
        let host = try ServeHost(folder: folder, [folder + "/metrics.yaml", "--plugins", plugins, "--database", folder + "/wavehost.db",
                                                  "--every", "0.2", "--cache-dir", folder + "/cache"])
        let address = try host.address()
        let store = try Store(location: folder + "/wavehost.db")
        try host.wait(for: "every run finished") {
            try store.count("SELECT COUNT(*) FROM runs WHERE status IN ('completed', 'failed')") == subjects.count
        }
        // Counted once durable: the last commit has landed when the run is finished.
        let families = try Self.scrape(address + "/metrics")
        let interactions = try #require(families["wavehost_interactions"], "families: \(families.keys.sorted())")
        #expect(interactions.type == "counter")
        var counted: [String: Double] = [:]
        for sample in interactions.samples where sample.name == "wavehost_interactions_total" {
            counted[sample.labels["status"] ?? "", default: 0] += sample.value
            #expect(sample.labels["actor_sha256"]?.count == 12, "\(sample.labels)")
            #expect(sample.labels.keys.sorted() == ["actor", "actor_sha256", "status", "step", "variant", "workflow"], "\(sample.labels)")
        }
        for row in try store.rows("SELECT status, COUNT(*) FROM interactions GROUP BY status") {
            let status = row[0].text ?? "?"
            #expect(counted[status] == Double(row[1].integer ?? -1), "status \(status): metrics \(counted), store \(row)")
        }
        // echo: 6 completed; risky: 4 completed, 2 subjects × 2 attempts failed.
        #expect(counted["completed"] == 10 && counted["failed"] == 4, "\(counted)")
        let crashes = families["wavehost_worker_crashes"]?.samples.first { $0.labels["actor"] == "hostile" }?.value
        #expect(crashes == 4, "\(String(describing: families["wavehost_worker_crashes"]))")
        #expect(families["wavehost_interaction_duration_seconds"]?.type == "histogram")
        for name in ["wavehost_worker_starts", "wavehost_worker_processes", "wavehost_queue_depth", "wavehost_runs_in_flight",
                     "wavehost_leases_held", "wavehost_journal_commit_records", "wavehost_journal_commit_duration_seconds"] {
            #expect(families[name] != nil, "no \(name) in \(families.keys.sorted())")
        }
        #expect(host.stop(with: SIGTERM) == 0, "\(host.output)")
    }

    @Test func hotReloadSwapsAndRejectionsAreCountedAndTheRejectionIsLogged() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try ServeHost.sleepy(10, into: folder + "/plugins")
        try #"{"id":"only"}"#.write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        try "workflow: reload\nsubjects: {file: subjects.jsonl, key: id}\nsteps:\n  only: {actor: sleepy, input: subject}\n"
            .write(toFile: folder + "/reload.yaml", atomically: true, encoding: .utf8)
        let host = try ServeHost(folder: folder, [folder + "/reload.yaml", "--plugins", folder + "/plugins", "--database", folder + "/wavehost.db",
                                                  "--every", "0.2", "--cache-dir", folder + "/cache"])
        let address = try host.address()
        let store = try Store(location: folder + "/wavehost.db")
        try host.wait(for: "the run completed") { try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == 1 }
        // A new build, written aside and renamed over the old file: swapped.
        try ServeHost.sleepy(20, into: folder + "/new")
        #expect(rename(folder + "/new/libsleepy.so", folder + "/plugins/libsleepy.so") == 0)
        try host.wait(for: "the swap") { host.output.contains("reloaded sleepy:") }
        // Junk under the same name: rejected, the current version keeps serving.
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: folder + "/junk.so"))
        #expect(rename(folder + "/junk.so", folder + "/plugins/libsleepy.so") == 0)
        try host.wait(for: "the rejection") { host.output.contains(#""task":"reload""#) }
        let families = try Self.scrape(address + "/metrics")
        #expect(families["wavehost_reload_swaps"]?.samples.first { $0.labels["actor"] == "sleepy" }?.value == 1, "\(families.keys.sorted())")
        #expect(families["wavehost_reload_rejections"]?.samples.first { $0.labels["actor"] == "sleepy" }?.value == 1)
        #expect(host.stop(with: SIGTERM) == 0, "\(host.output)")
    }

    @Test func aPortInUseIsAClearErrorNamingTheAddress() throws {
        // Hold a port: a listening socket on loopback, port picked by the kernel.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 && listen(holder, 1) == 0
                && getsockname(holder, $0, &length) == 0 }
        }
        try #require(bound, "cannot hold a port: \(String(cString: strerror(errno)))")
        let port = Int(UInt16(bigEndian: address.sin_port))

        let folder = try TestPlugins.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestPlugins.product("EchoC"), toPath: folder + "/plugins/libEchoC.so")
        try "workflow: busy\nsteps:\n  only: {actor: echo-c}\n".write(toFile: folder + "/busy.yaml", atomically: true, encoding: .utf8)
        let result = try TestPlugins.run(TestPlugins.cli, ["serve", folder + "/busy.yaml", "--plugins", folder + "/plugins",
                                                           "--database", folder + "/wavehost.db", "--cache-dir", folder + "/cache",
                                                           "--http", "127.0.0.1:\(port)"])
        #expect(result.status == 7, "\(result.output)\n\(result.error)")
        #expect(result.error.contains("cannot listen on 127.0.0.1:\(port): the address is already in use"), "\(result.error)")
        #expect(!result.output.contains("serving"), "it served without its HTTP server: \(result.output)")
    }
}
