import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostPlugins
@testable import WavehostSandbox
@testable import WavehostStore

/// The trust boundary (issue 11; docs/sandbox.md, "Threat model"): a hostile actor compiled
/// from Tests/HostTests/Fixtures/trust_hostile_actor.c attacks the world outside its worker,
/// through a pool, through `wavehost invoke`, and in a workflow with a good actor beside it.
/// For each attack: the host stays up, the call ends within its deadline, the attempt is
/// refused (the actor says so), nothing of the actor's survives, and the good work is recorded.
/// Run as root and, by tools/test, once more as an unprivileged user.
@Suite(.serialized) struct HostileActorTests {
    static func fixture(network: Bool = false) throws -> String {
        try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/trust_hostile_actor.c",
                                defines: network ? ["NETWORK"] : [], output: "libtrusthostile.so", flags: ["-std=gnu11"])
    }

    private func pool(limits: (inout SandboxLimits) -> Void = { _ in }) throws -> WorkerPool {
        let plugin = try TestPlugins.loader().load(try Self.fixture())
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.limits.addressSpaceBytes = 256 << 20
        configuration.limits.fileSizeBytes = 16 << 20
        limits(&configuration.limits)
        return WorkerPool(plugin: plugin, configuration: configuration)
    }

    private func call(_ pool: WorkerPool, _ input: String, timeout: Duration = .seconds(15)) throws -> [String: Any] {
        let started = ContinuousClock.now
        let output = try pool.invoke(Array(input.utf8), timeout: timeout)
        #expect(ContinuousClock.now - started < timeout, "the call ended within its deadline")
        return try #require(try JSONSerialization.jsonObject(with: Data(output)) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
    }

    /// Processes whose name is `mark`, anywhere on the machine.
    static func processes(named mark: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int(entry) != nil, let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8) else { return false }
            return name.trimmingCharacters(in: .whitespacesAndNewlines) == mark
        }
    }

    /// The sibling that must keep working while its neighbour attacks.
    private func goodSiblingAnswers(_ sibling: WorkerPool, sourceLocation: SourceLocation = #_sourceLocation) {
        let answer = try? sibling.invoke(Array(#"{"good":true}"#.utf8), timeout: .seconds(10))
        #expect(answer.map { String(decoding: $0, as: UTF8.self) } == #"{"good":true}"#, "the good actor beside it still answers",
                sourceLocation: sourceLocation)
    }

    @Test func theWorkerGetsNoneOfTheHostsEnvironment() throws {
        setenv("WAVEHOST_TEST_SECRET", "postgres://user:password@db/prod", 1)
        defer { unsetenv("WAVEHOST_TEST_SECRET") }
        let names = try #require(try call(try pool(), #"{"do":"env"}"#)["names"] as? [String])
        #expect(!names.contains("WAVEHOST_TEST_SECRET"))
        #expect(Set(names).isSubset(of: ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SWIFT_BACKTRACE"]), "\(names)")
    }

    @Test func theHostsFilesAreUnreadable() throws {
        let pool = try pool()
        let database = try TestPlugins.temporaryDirectory() + "/wavehost.db"
        _ = try Store(location: database)
        for path in ["/proc/\(getpid())/environ", "/etc/shadow", database, TestPlugins.repositoryRoot + "/Package.swift"] {
            let answer = try call(pool, #"{"do":"read","path":"\#(path)"}"#)
            #expect(answer["read"] as? String == "denied", "\(path): \(answer)")
        }
        #expect(try call(pool, #"{"do":"read","path":"/etc/os-release"}"#)["read"] as? String == "allowed", "system files stay readable")
    }

    @Test func signalsAndPrioritiesReachNothingOutsideTheTree() throws {
        let attacker = try pool()
        let sibling = try pool()
        goodSiblingAnswers(sibling)
        // This sibling's own worker: other suites' workers come and go meanwhile.
        let siblingWorker = try #require(sibling.idleWorkerPIDs.first)
        for target in [getpid(), siblingWorker] {
            let answer = try call(attacker, #"{"do":"kill","pid":"\#(target)"}"#)
            #expect(answer["named"] as? String == "denied", "\(answer)")
            #expect(answer["parent_result"] as? String == "denied", "\(answer)")
            #expect(kill(target, 0) == 0, "pid \(target) is still alive")
        }
        goodSiblingAnswers(sibling)
    }

    @Test func nothingTheActorStartsOutlivesTheCall() throws {
        let pool = try pool()
        let mark = "whd\(UInt32.random(in: 10_000...99_999))"
        #expect(try call(pool, #"{"do":"daemon","mark":"\#(mark)"}"#)["daemon"] as? String == "started")
        #expect(Self.processes(named: mark).isEmpty, "the setsid + double-forked daemon died with the call")
        #expect(try call(pool, #"{"still":"serving"}"#)["still"] as? String == "serving")
    }

    @Test func aForkBombIsBoundedAndReaped() throws {
        let pool = try pool { $0.processes = 32 }
        let answer = try call(pool, #"{"do":"forkbomb"}"#)
        let forked = try #require(answer["forked"] as? Int)
        #expect(forked < 32, "bounded by the tree's process limit: \(answer)")
        #expect(try call(pool, #"{"after":"bomb"}"#)["after"] as? String == "bomb", "the worker serves again: its tree was reaped")
    }

    @Test func memoryThroughForkedChildrenStaysBounded() throws {
        let pool = try pool { $0.addressSpaceBytes = 128 << 20; $0.processes = 16 }
        let outcome = Result { try call(pool, #"{"do":"forkmem"}"#) }
        if case .success(let answer) = outcome {
            let touched = try #require(answer["touched_mib"] as? Int)
            #expect(touched <= 16 * 128, "at most processes × memory: \(answer)")
        }
        // Killed by the cgroup's OOM killer is an acceptable end too; the host and the pool carry on.
        #expect(try call(pool, #"{"after":"forkmem"}"#)["after"] as? String == "forkmem")
    }

    @Test func aHugeFileStopsAtTheFileSizeLimit() throws {
        let answer = try call(try pool(), #"{"do":"bigfile"}"#)
        #expect(answer["written_mib"] as? Int == 16, "\(answer)")
        #expect(answer["errno"] as? Int == Int(EFBIG), "\(answer)")
    }

    @Test func noDeviceNodes() throws {
        let answer = try call(try pool(), #"{"do":"mknod"}"#)
        #expect(answer["mknod"] as? String == "denied", "\(answer)")
        #expect(answer["open"] as? String == "denied", "\(answer)")
    }

    @Test func noIoUring() throws {
        let answer = try call(try pool(), #"{"do":"iouring"}"#)
        #expect(answer["io_uring"] as? String == "denied", "\(answer)")
    }

    @Test func noNewNamespaces() throws {
        let answer = try call(try pool(), #"{"do":"clone3"}"#)
        #expect(answer["clone3"] as? String == "denied" && answer["clone3_errno"] as? Int == Int(ENOSYS), "\(answer)")
        #expect(answer["clone"] as? String == "denied" && answer["unshare"] as? String == "denied", "\(answer)")
    }

    /// The host's stdin is a real terminal (a pseudo-terminal the test opens, through
    /// Python's pty module), so an injected keystroke would show up on its master side.
    @Test func noKeystrokesIntoTheHostsTerminal() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let script = folder + "/with-tty.py"
        try """
            import os, pty, subprocess, sys, select
            master, slave = pty.openpty()
            done = subprocess.run(sys.argv[1:], stdin=slave, capture_output=True, text=True)
            os.close(slave)
            injected = b""
            while select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 64)
                except OSError:
                    break
                if not chunk:
                    break
                injected += chunk
            print(done.stdout.strip())
            print("injected=" + repr(injected))
            sys.stderr.write(done.stderr)
            sys.exit(done.returncode)
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let result = try TestPlugins.run("/usr/bin/python3", [script, TestPlugins.cli, "invoke", try Self.fixture(),
                                                              "--input", #"{"do":"tiocsti"}"#, "--cache-dir", folder + "/cache"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains(#""stdin":"denied""#) && result.output.contains(#""tty":"denied""#), "\(result.output)")
        #expect(result.output.contains("injected=b''"), "nothing was pushed into the terminal: \(result.output)")
    }

    /// Through `wavehost invoke`: each attack fails or is refused, the command says so, and the host exits normally.
    @Test(arguments: ["forkbomb", "bigfile", "mknod", "iouring", "clone3", "daemon"])
    func throughInvoke(_ attack: String) throws {
        let folder = try TestPlugins.temporaryDirectory()
        let mark = "whi\(UInt32.random(in: 10_000...99_999))"
        let result = try TestPlugins.run(TestPlugins.cli, ["invoke", try Self.fixture(), "--input", #"{"do":"\#(attack)","mark":"\#(mark)"}"#,
                                                           "--limits", #"{"file_size_mb":8,"processes":32}"#, "--timeout", "20",
                                                           "--cache-dir", folder + "/cache"])
        #expect(result.status == 0, "\(attack): \(result.error)")
        #expect(!result.output.contains("created") && !result.output.contains("injected"), "\(attack): \(result.output)")
        #expect(Self.processes(named: mark).isEmpty)
    }

    /// In a workflow: the attack's step is recorded (done or failed, with its reason), and the
    /// good actor's step beside it is completed.
    @Test(arguments: ["forkbomb", "daemon", "bigfile", "mknod", "iouring", "clone3", "env", "tiocsti"])
    func inAWorkflowBesideAGoodActor(_ attack: String) throws {
        let folder = try TestPlugins.temporaryDirectory()
        let mark = "whw\(UInt32.random(in: 10_000...99_999))"
        try """
            workflow: hostile
            subjects: {single: s1}
            steps:
              attack: {actor: trust-hostile, config: {do: \(attack), mark: \(mark)}, timeout: 20s, limits: {file_size_mb: 8, processes: 32}}
              good: {actor: echo-c}
            """.write(toFile: folder + "/w.yaml", atomically: true, encoding: .utf8)
        let result = try TestPlugins.run(TestPlugins.cli, ["run", folder + "/w.yaml", "--database", folder + "/w.db",
                                                           "--actor", try Self.fixture(), "--actor", try TestPlugins.product("EchoC"),
                                                           "--cache-dir", folder + "/cache", "--quiet"])
        #expect(result.status == 0 || result.status == 5, "\(attack): \(result.error)")
        let store = try Store(location: folder + "/w.db")
        #expect(try store.count("SELECT COUNT(*) FROM interactions i JOIN steps s ON s.id = i.step_id WHERE s.name = 'good' AND i.status = 'completed'") == 1,
                "\(attack): the good actor's work is recorded")
        let attackOutput = try store.rows("SELECT CAST(i.output AS TEXT) FROM interactions i JOIN steps s ON s.id = i.step_id WHERE s.name = 'attack'")
        #expect(attackOutput.count >= 1, "\(attack): the attack ran and was recorded")
        let text = attackOutput.compactMap { $0.first?.text }.joined()
        #expect(!text.contains("created") && !text.contains("injected"), "\(attack): \(text)")
        #expect(Self.processes(named: mark).isEmpty)
    }

    /// A required layer that cannot hold (here: as root with no uid for the worker) refuses
    /// the actor with the reason and the flag; the flag accepts it knowingly.
    @Test func aMissingLayerRefusesTheActorWithTheFlagThatAcceptsIt() throws {
        let scratch = try TestPlugins.temporaryDirectory()
        let probe = try TestPlugins.run(TestPlugins.worker, ["probe", "--scratch", scratch, "--cgroup", "x/../../escape"])
        #expect(probe.status == 0)
        if geteuid() == 0 {
            #expect(probe.output.contains("identity (running as root with no uid for the pool)"), "\(probe.output)")
            #expect(probe.output.contains("--allow-weak-sandbox identity"), "\(probe.output)")
            let accepted = try TestPlugins.run(TestPlugins.worker, ["probe", "--scratch", scratch, "--allow-weak", "identity"])
            #expect(accepted.output.contains(#""refusal":null"#), "\(accepted.output)")
        } else {
            #expect(probe.output.contains(#""refusal":null"#), "as \(geteuid()), every layer holds: \(probe.output)")
        }
    }

    @Test func doctorSaysWhichLayersHold() throws {
        let result = try TestPlugins.run(TestPlugins.cli, ["doctor"])
        #expect(result.status == 0, "every required layer holds on this machine:\n\(result.output)")
        for layer in SandboxLayerNames.all { #expect(result.output.contains(layer), "doctor names \(layer)") }
        #expect(result.output.contains("verdict: every required layer holds"))
    }
}

enum SandboxLayerNames {
    static let all = ["pid-namespace", "network-namespace", "identity", "capabilities", "tree-limits", "rlimits",
                      "filesystem", "landlock-scoping", "no-new-privileges", "syscall-filter"]
}
