import Foundation
import WavehostEngine
import WavehostHash
import WavehostStore

/// Several `wavehost run` processes on one PostgreSQL (the one tools/bench starts):
/// durable interactions per second with 1, 2 and 3 hosts on the engine group's workflow
/// (no-op actors), beside the same database's one-row commits; wall time with 1 and 3 hosts
/// when the actors' own time bounds the work (a script that sleeps 0.5 s, so 2 cores do not
/// cap it); and the time from a host's SIGKILL to its runs resuming on another host — on
/// the same machine (its pid is seen dead) and on "another machine" (a hostname of its own,
/// so its leases must lapse).
func benchScale(_ context: BenchContext) throws {
    guard let url = ProcessInfo.processInfo.environment["WAVEHOST_BENCH_POSTGRES"] else {
        print("note: no PostgreSQL for the scale group (tools/bench starts one when PostgreSQL is installed)")
        return
    }
    let folder = context.cacheDirectory + "/scale"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let store = try Store(location: url)
    report("scale.postgres.floor_single_row_commits", try store.singleRowCommitsPerSecond(rows: 1500), "commits/s")
    let bench = ScaleFleet(context: context, folder: folder, url: url)

    for hosts in 1...3 {
        let name = "scale-noop-\(hosts)"
        try bench.runToEnd(workflow: name, steps: ScaleFleet.noOpSteps, subjects: 10_000, hosts: hosts, concurrency: 2)
        let status = try store.status(workflow: name)
        guard status.runs.completed == 10_000, status.interactions.completed == 50_000 else {
            throw BenchError("\(name): \(status.runs.completed) runs and \(status.interactions.completed) interactions completed")
        }
        report("scale.postgres.durable_interactions_\(hosts)_host\(hosts == 1 ? "" : "s")", status.throughput.overall ?? 0, "interactions/s")
    }

    var walls: [Int: Double] = [:]
    for hosts in [1, 3] {
        let started = nanoseconds()
        try bench.runToEnd(workflow: "scale-sleep-\(hosts)", steps: bench.sleepSteps, subjects: 60, hosts: hosts, concurrency: 4)
        walls[hosts] = Double(nanoseconds() - started) / 1e9
        report("scale.actor_bound_wall_\(hosts)_host\(hosts == 1 ? "" : "s")", walls[hosts]!, "s")
    }
    report("scale.actor_bound_speedup_3_over_1", walls[1]! / walls[3]!, "x")

    report("scale.takeover_same_machine", try bench.takeover(workflow: "scale-kill-local", otherMachine: false), "s")
    if getuid() == 0 {
        report("scale.takeover_other_machine", try bench.takeover(workflow: "scale-kill-remote", otherMachine: true), "s")
    } else {
        print("note: scale.takeover_other_machine needs root (a UTS namespace gives the host a hostname of its own)")
    }
}

/// Host processes of the scale group and the files they run.
struct ScaleFleet {
    let context: BenchContext
    let folder: String
    let url: String

    static let noOpSteps = """
          a: {actor: echo-c, isolation: inprocess, input: subject}
          b: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          c: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          d: {actor: echo-c, isolation: inprocess, input: subject, after: [b, c]}
          e: {actor: echo-c, isolation: inprocess, input: subject, after: [d]}
        """

    var sleeper: String { folder + "/sleep-echo.py" }

    var sleepSteps: String {
        """
          a: {actor: echo-c, isolation: inprocess, input: subject}
          nap: {actor: sleep-echo, input: subject, after: [a], timeout: 10s}
        """
    }

    /// Starts `hosts` hosts on the workflow at once and waits for all of them.
    func runToEnd(workflow: String, steps: String, subjects: Int, hosts: Int, concurrency: Int) throws {
        let command = try hostCommand(workflow: workflow, steps: steps, subjects: subjects, concurrency: concurrency)
        let pids = try (0..<hosts).map { try spawn(command, log: "\(folder)/\(workflow)-\($0).log") }
        for (index, pid) in pids.enumerated() {
            let status = wait(pid)
            guard status == 0 || status == 8 else {
                throw BenchError("\(workflow): host \(index) exited \(status); see \(folder)/\(workflow)-\(index).log")
            }
        }
    }

    /// Seconds from SIGKILL of one of two hosts to the first interaction another host
    /// starts on a run the killed one held.
    func takeover(workflow: String, otherMachine: Bool) throws -> Double {
        let command = try hostCommand(workflow: workflow, steps: sleepSteps, subjects: 200, concurrency: 4)
        func host(_ index: Int) -> [String] {
            otherMachine ? ["/usr/bin/unshare", "--uts", "/bin/sh", "-c", "echo bench-host-\(index) > /proc/sys/kernel/hostname && exec \"$0\" \"$@\""]
                + command : command
        }
        let victim = try spawn(host(0), log: "\(folder)/\(workflow)-0.log")
        let survivor = try spawn(host(1), log: "\(folder)/\(workflow)-1.log")
        defer { kill(survivor, SIGKILL); _ = wait(survivor) }
        let owner = "%:\(victim):%"
        // Killed once it has naps under way.
        let deadline = Date(timeIntervalSinceNow: 60)
        while try psql("SELECT COUNT(*) FROM interactions WHERE status = 'running' AND lease_owner LIKE '\(owner)'") == "0" {
            guard Date() < deadline else { throw BenchError("\(workflow): the first host never had work under way") }
            usleep(10_000)
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let killedAt = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        kill(victim, SIGKILL)
        _ = wait(victim)
        let held = try psql("SELECT string_agg(id::text, ',') FROM runs WHERE status = 'running' AND lease_owner LIKE '\(owner)'")
        guard !held.isEmpty else { throw BenchError("\(workflow): the killed host held no runs") }
        while Date() < deadline.addingTimeInterval(60) {
            let first = try psql("""
                SELECT MIN(started_at) FROM interactions WHERE run_id IN (\(held)) AND lease_owner NOT LIKE '\(owner)' AND started_at >= \(killedAt)
                """)
            if let resumed = Int64(first) { return Double(resumed - killedAt) / 1000 }
            usleep(10_000)
        }
        throw BenchError("\(workflow): the killed host's runs never resumed")
    }

    private func hostCommand(workflow: String, steps: String, subjects: Int, concurrency: Int) throws -> [String] {
        let file = "\(folder)/\(workflow).yaml"
        try "workflow: \(workflow)\nsteps:\n\(steps)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let lines = (0..<subjects).map { #"{"id":"s\#($0)","n":\#($0),"title":"Senior Swift engineer"}"# }
        try lines.joined(separator: "\n").write(toFile: "\(folder)/\(workflow).jsonl", atomically: true, encoding: .utf8)
        try "import sys, time\ndata = sys.stdin.read()\ntime.sleep(0.5)\nsys.stdout.write(data)\n"
            .write(toFile: sleeper, atomically: true, encoding: .utf8)
        let echo = context.plugin("EchoC")
        guard let hash = ContentHash.sha256(ofFile: echo) else { throw BenchError("cannot hash \(echo)") }
        return [context.productsDirectory + "/wavehost", "run", file, "--database", url, "--actor", echo, "--actor", sleeper,
                "--trust", hash, "--subjects", "\(folder)/\(workflow).jsonl", "--key", "id", "--concurrency", String(concurrency),
                "--quiet", "--cache-dir", folder + "/cache"]
    }

    private func psql(_ sql: String) throws -> String {
        let output = folder + "/psql.out"
        let pid = try spawn(["/usr/bin/env", "psql", url, "-Atc", sql], log: output)
        guard wait(pid) == 0 else { throw BenchError("psql failed: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")") }
        return ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func spawn(_ command: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw BenchError("cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        return pid
    }

    private func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
