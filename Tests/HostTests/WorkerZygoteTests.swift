import Foundation
import Testing
import WavehostPlugins
@testable import WavehostSandbox

/// Workers forked by the zygote (docs/sandbox.md, "Cold start"): each is the host's own
/// child with its own command line and nothing of the zygote's; the zygote holds nothing
/// but its socket; a killed host leaves neither behind; without the zygote, workers are spawned.
// Serialized: two of these turn the zygote off or kill it, which the others would meet.
@Suite(.serialized) struct WorkerZygoteTests {
    private func echoPool() throws -> WorkerPool {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.size = 1
        return WorkerPool(plugin: try TestPlugins.loader().load(try TestPlugins.product("EchoC")), configuration: configuration)
    }

    @Test func aForkedWorkerIsTheHostsOwnChildWithItsOwnCommandLine() throws {
        let pool = try echoPool()
        defer { pool.shutdown() }
        #expect(try pool.invoke(Array("[1]".utf8), timeout: .seconds(10)) == Array(#"{"echo":[1],"bytes":3}"#.utf8))
        let worker = try #require(pool.idleWorkerPIDs.first)
        let zygote = try #require(WorkerZygote.processID(for: TestPlugins.worker), "a zygote serves \(TestPlugins.worker)")
        #expect(ProcessFacts.parent(of: worker) == getpid(), "the worker is the host's child (CLONE_PARENT), not the zygote's")
        #expect(ProcessFacts.parent(of: zygote) == getpid())
        let line = ProcessFacts.commandLine(of: worker)
        #expect(line.first == "wavehost-worker" && line.dropFirst().first == "serve", "\(line)")
        // Whole, not cut at the zygote's own (shorter) line: the plugin's path and every limit after it.
        let plugin = line.firstIndex(of: "--plugin").map { line.index(after: $0) }.flatMap { $0 < line.endIndex ? line[$0] : nil }
        #expect(plugin.map { FileManager.default.fileExists(atPath: $0) } == true, "\(line)")
        #expect(line.contains("--scratch") && line.contains("--limit-as"), "\(line)")
        #expect(ProcessFacts.commandLine(of: zygote) == ["wavehost-worker", "zygote"])
        // The zygote holds stdin, stdout, stderr and its socket; the worker's outer process
        // (which waits for its namespace's init) holds only its status pipe.
        #expect(ProcessFacts.descriptors(of: zygote) == [0, 1, 2, 3])
        #expect(ProcessFacts.descriptors(of: worker).count <= 1, "\(ProcessFacts.descriptors(of: worker))")
    }

    @Test func withoutTheZygoteWorkersAreSpawnedAndServeTheSame() throws {
        WorkerZygote.enabled.store(false, ordering: .relaxed)
        defer { WorkerZygote.enabled.store(true, ordering: .relaxed) }
        let pool = try echoPool()
        defer { pool.shutdown() }
        #expect(try pool.invoke(Array("[2]".utf8), timeout: .seconds(10)) == Array(#"{"echo":[2],"bytes":3}"#.utf8))
        let worker = try #require(pool.idleWorkerPIDs.first)
        #expect(ProcessFacts.commandLine(of: worker).first == TestPlugins.worker, "spawned: its exec'd path")
        #expect(pool.statistics.layers["syscall-filter"]?.hasPrefix("ok") == true)
    }

    /// A zygote that dies costs nothing but its speed: the next start is spawned, and the one
    /// after that forked by a new zygote.
    @Test func aDeadZygoteIsReplacedAndNoStartFails() throws {
        let first = try echoPool()
        defer { first.shutdown() }
        _ = try first.invoke(Array("[1]".utf8), timeout: .seconds(10))
        let zygote = try #require(WorkerZygote.processID(for: TestPlugins.worker))
        kill(zygote, SIGKILL)
        var answers: [[UInt8]] = []
        for round in 0..<3 {
            let pool = try echoPool()
            defer { pool.shutdown() }
            answers.append(try pool.invoke(Array("[\(round)]".utf8), timeout: .seconds(10)))
        }
        #expect(answers.map { String(decoding: $0, as: UTF8.self) } == (0..<3).map { #"{"echo":[\#($0)],"bytes":3}"# })
        let replaced = try #require(WorkerZygote.processID(for: TestPlugins.worker), "a new zygote serves")
        #expect(replaced != zygote && ProcessFacts.isAlive(replaced))
        #expect(!ProcessFacts.isAlive(zygote), "the dead one was reaped")
    }

    /// `wavehost invoke` killed mid-call: its zygote and its worker's whole tree go with it.
    @Test func aKilledHostLeavesNeitherItsZygoteNorItsWorkers() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try ServeHost.sleepy(30_000, into: folder)
        let host = try TestPlugins.start(TestPlugins.cli, ["invoke", folder + "/libsleepy.so", "--input", "{}", "--timeout", "60",
                                                           "--cache-dir", folder + "/cache"])
        var tree: [pid_t] = []
        let patience = ContinuousClock.now + .seconds(20)
        // The zygote, the worker's outer process, its init and its server.
        while ContinuousClock.now < patience {
            tree = ServeHost.descendants(of: host)
            if tree.contains(where: { ProcessFacts.commandLine(of: $0).dropFirst().first == "serve" }) && tree.count >= 4 { break }
            usleep(20_000)
        }
        #expect(tree.contains { ProcessFacts.commandLine(of: $0) == ["wavehost-worker", "zygote"] }, "\(tree)")
        kill(host, SIGKILL)
        var status: Int32 = 0
        while waitpid(host, &status, 0) < 0 && errno == EINTR {}
        var alive = tree
        for _ in 0..<250 where !alive.isEmpty {
            usleep(20_000)
            alive = tree.filter(ProcessFacts.isAlive)
        }
        #expect(alive.isEmpty, "outlived the host: \(alive.map { "\($0) \(ProcessFacts.commandLine(of: $0))" })")
    }
}
