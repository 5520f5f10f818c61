import Foundation
@testable import WavehostEngine
@testable import WavehostStore

/// Several `wavehost run` processes on one database, for the tests of hosts sharing work:
/// a workflow file and subjects in a folder of their own, each host's output in a log,
/// started (and reaped) by pid.
struct HostFleet {
    let folder: String
    let database: String
    let subjects: Int
    /// One subject in this many meets the slow step.
    let slowEvery: Int
    /// Arguments every host gets, after `run WORKFLOW`.
    let arguments: [String]

    /// 1 subject in `slowEvery` also meets the slow script step (50 ms, in a sandbox), so a
    /// host killed mid-run has interactions under way; the rest run in-process at once.
    static func workflow() -> String {
        """
        workflow: shared
        writable_tables: [postings]
        steps:
          a: {actor: echo-c, isolation: inprocess, input: subject}
          slow: {actor: slow-echo, input: subject, after: [a], when: {step: a, field: echo.slow, equals: true}}
          promote:
            after: [a]
            actor: staging-validator
            isolation: inprocess
            config: {key: external_id, target: postings, required: [title]}
            lookup: {table: postings, key: external_id}
        """
    }

    init(database: String, subjects: Int, slowEvery: Int, concurrency: Int = 2, extra: [String] = []) throws {
        folder = try TestPlugins.temporaryDirectory()
        self.database = database
        self.subjects = subjects
        self.slowEvery = slowEvery
        try Self.workflow().write(toFile: folder + "/shared.yaml", atomically: true, encoding: .utf8)
        let lines = (0..<subjects).map { #"{"external_id":"p\#($0)","title":"Posting \#($0)","slow":\#($0 % slowEvery == 0)}"# }
        try lines.joined(separator: "\n").write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        let validator = try TestPlugins.product("StagingValidator"), echo = try TestPlugins.product("EchoC")
        arguments = ["--database", database, "--actor", echo, "--actor", validator,
                     "--actor", TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/scripts/slow-echo.py",
                     "--subjects", folder + "/subjects.jsonl", "--key", "external_id", "--concurrency", String(concurrency),
                     "--quiet", "--cache-dir", folder + "/cache",
                     "--trust", try TestPlugins.sha256(validator), "--trust", try TestPlugins.sha256(echo)] + extra
    }

    /// `wavehost run` of the workflow as host `index`, its output in `log(index)`; with
    /// `environment` added to the test's own. `prefix` runs it through another program
    /// (e.g. `ip netns exec NAME`).
    func start(_ index: Int, environment: [String: String] = [:], prefix: [String] = []) throws -> pid_t {
        let command = prefix + [TestPlugins.cli, "run", folder + "/shared.yaml"] + arguments
        return try Self.spawn(command, log: log(index), environment: environment)
    }

    func log(_ index: Int) -> String { folder + "/host\(index).log" }

    /// The exit status of `pid` (128 + signal when killed), once it ends.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// posix_spawn with stdout and stderr into `log` and `environment` over the test's own.
    static func spawn(_ command: [String], log: String, environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else { throw TestSetupError("cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// Polls `store` until `condition` holds (at most `seconds`).
    static func waitUntil(_ what: String, seconds: Double = 120, in store: Store, _ condition: (Store) throws -> Bool) throws {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if try condition(store) { return }
            usleep(20_000)
        }
        throw TestSetupError("gave up waiting for \(what)")
    }

    /// Checks every run completed once, every step's interaction completed once (the slow one only
    /// where the subject asked for it), one effect per subject, nothing left running.
    /// What differs from that, one line each (empty when all holds).
    func everyRunOnce(_ store: Store) throws -> [String] {
        var problems: [String] = []
        func check(_ sql: String, _ expected: Int, _ what: String) throws {
            let found = try store.count(sql)
            if found != expected { problems.append("\(what): \(found), expected \(expected)") }
        }
        let slow = (0..<subjects).filter { $0 % slowEvery == 0 }.count
        try check("SELECT COUNT(*) FROM runs WHERE status = 'completed'", subjects, "completed runs")
        try check("""
            SELECT COUNT(*) FROM (SELECT run_id, step_id FROM interactions WHERE status = 'completed'
            GROUP BY run_id, step_id HAVING COUNT(*) > 1) AS repeated
            """, 0, "steps completed twice")
        try check("SELECT COUNT(*) FROM interactions WHERE status = 'completed'", 2 * subjects + slow, "completed interactions")
        try check("SELECT COUNT(*) FROM interactions WHERE status IN ('running', 'pending')", 0, "interactions left running")
        try check("SELECT COUNT(*) FROM data.postings", subjects, "rows of data.postings")
        try check("SELECT COUNT(*) FROM effect_ledger WHERE table_name = 'data.postings'", subjects, "ledger entries")
        try check("SELECT COUNT(*) FROM events WHERE kind = 'effects_applied'", subjects, "effects applied")
        return problems
    }
}
