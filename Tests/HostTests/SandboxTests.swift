import Foundation
import Synchronization
import Testing
import WavehostEngine
import WavehostPlugins
import WavehostSandbox

/// Real worker processes running the real hostile fixture.
@Suite struct SandboxTests {
    private func pool(network: Bool = false, size: Int = 2, configure: (inout WorkerPool.Configuration) -> Void = { _ in })
        throws -> WorkerPool
    {
        let plugin = try TestPlugins.loader().load(try TestPlugins.hostile(network: network))
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.size = size
        configuration.limits.addressSpaceBytes = 512 << 20
        configure(&configuration)
        return WorkerPool(plugin: plugin, configuration: configuration)
    }

    private func call(_ pool: WorkerPool, _ input: String, timeout: Duration = .seconds(10)) throws(SandboxFailure) -> String {
        String(decoding: try pool.invoke(Array(input.utf8), timeout: timeout), as: UTF8.self)
    }

    private func failure(_ pool: WorkerPool, _ input: String, timeout: Duration = .seconds(10),
                         sourceLocation: SourceLocation = #_sourceLocation) -> SandboxFailure?
    {
        do {
            let output = try call(pool, input, timeout: timeout)
            Issue.record("expected a failure, got \(output)", sourceLocation: sourceLocation)
            return nil
        } catch { return error }
    }

    @Test func goodCallsRoundTripThroughAWarmWorker() throws {
        let pool = try pool()
        for n in 0..<20 { #expect(try call(pool, #"{"n":\#(n)}"#) == #"{"n":\#(n)}"#) }
        #expect(pool.statistics.started == 1, "one warm worker served every call")
    }

    @Test func aLoopingActorTimesOutAndTheNextCallWorks() throws {
        let pool = try pool()
        let timedOut = try #require(failure(pool, #"{"do":"loop"}"#, timeout: .milliseconds(300)))
        #expect(timedOut.code == .timedOut)
        #expect(timedOut.elapsedNanoseconds >= 300_000_000)
        #expect(timedOut.elapsedNanoseconds < 2_000_000_000, "killed promptly, not after a long wait")
        #expect(try call(pool, #"{"after":"timeout"}"#) == #"{"after":"timeout"}"#)
    }

    @Test(arguments: [("segfault", "killed by signal 11"), ("abort", "killed by signal 6"), ("exit", "exited with status 3")])
    func aCrashFailsOnlyThatCall(_ action: String, _ expected: String) throws {
        let pool = try pool()
        let crashed = try #require(failure(pool, #"{"do":"\#(action)"}"#))
        #expect(crashed.code == .crashed)
        #expect(crashed.message.contains(expected), "\(crashed.message)")
        #expect(try call(pool, #"{"still":"serving"}"#) == #"{"still":"serving"}"#)
    }

    @Test func unboundedAllocationIsStoppedByTheAddressSpaceLimit() throws {
        let pool = try pool()
        let answer = try JSONSerialization.jsonObject(with: Data(try call(pool, #"{"do":"allocate"}"#).utf8)) as? [String: Any]
        let allocated = try #require(answer?["allocated_mib"] as? Int)
        #expect(allocated < 512, "the worker was held under its 512 MiB address space")
        #expect(try call(pool, "{}") == "{}")
    }

    @Test func strayPrintsDoNotCorruptTheChannel() throws {
        let pool = try pool()
        #expect(try call(pool, #"{"do":"garbage","x":1}"#) == #"{"do":"garbage","x":1}"#)
    }

    @Test func anOversizeAnswerIsRefusedWhole() throws {
        let pool = try pool()
        let tooLarge = try #require(failure(pool, #"{"do":"huge"}"#, timeout: .seconds(30)))
        #expect(tooLarge.code == .outputTooLarge)
        #expect(tooLarge.message.contains("exceeds the limit of \(16 << 20)"))
        #expect(try call(pool, "{}") == "{}")
    }

    /// Sockets need the declared capability and a grant: neither alone opens the network.
    @Test func noNetworkWithoutTheCapability() throws {
        let closed = try pool()
        let layers = closed.statistics.layers
        #expect(try call(closed, #"{"do":"socket"}"#) == #"{"socket":"denied","errno":1}"#)
        #expect(closed.statistics.layers["syscall-filter"]?.hasPrefix("ok") == true || layers.isEmpty)
        let claimed = try pool(network: true)
        #expect(try call(claimed, #"{"do":"socket"}"#) == #"{"socket":"denied","errno":1}"#, "declared, not granted")
        let grant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
        let grantedUnclaimed = try pool { $0.networkGrant = grant }
        #expect(try call(grantedUnclaimed, #"{"do":"socket"}"#) == #"{"socket":"denied","errno":1}"#, "granted, not declared")
        let open = try pool(network: true) { $0.networkGrant = grant }
        #expect(try call(open, #"{"do":"socket"}"#) == #"{"socket":"created","errno":0}"#)
    }

    @Test func writesOnlyInsideTheScratchFolder() throws {
        let pool = try pool()
        _ = try call(pool, "{}")
        let filesystem = try #require(pool.statistics.layers["filesystem"])
        try #require(filesystem.hasPrefix("ok"), "Landlock unavailable here: \(filesystem)")
        let outside = NSTemporaryDirectory() + "wavehost-escape-\(UUID().uuidString)"
        #expect(try call(pool, #"{"do":"write","path":"\#(outside)"}"#) == #"{"write":"denied","errno":13}"#)
        #expect(!FileManager.default.fileExists(atPath: outside))
        #expect(try call(pool, #"{"do":"write","path":"inside.txt"}"#) == #"{"write":"allowed","errno":0}"#)
    }

    @Test func noNewPrivilegesAndTheSyscallFilterAreInForce() throws {
        let pool = try pool()
        #expect(try call(pool, #"{"do":"status"}"#) == #"{"no_new_privs":1,"seccomp":2}"#)
    }

    @Test func workersAreRecycledOnMemoryGrowth() throws {
        let pool = try pool { $0.maxResidentBytes = 1 }  // every worker is over this after one call
        for _ in 0..<3 { _ = try call(pool, "{}") }
        #expect(pool.statistics.started == 3)
        #expect(pool.statistics.retired == 3)
    }

    /// A create that refuses, or that crashes, fails the call with the reason; the host lives.
    @Test(arguments: [("FAILING_CREATE", "misbehaving: this build refuses every config"),
                      ("CRASHING_CREATE", "worker killed by signal 11")])
    func aWorkerThatCannotStartFailsTheCallWithTheReason(_ fault: String, _ expected: String) throws {
        let plugin = try TestPlugins.loader().load(try TestPlugins.misbehaving(fault))
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        let pool = WorkerPool(plugin: plugin, configuration: configuration)
        let failed = try #require(failure(pool, "{}"))
        #expect(failed.code == .startFailed)
        #expect(failed.message.contains(expected), "\(failed.message)")
    }

    @Test func everySupportedLayerIsApplied() throws {
        let pool = try pool()
        _ = try call(pool, "{}")
        let layers = pool.statistics.layers
        for layer in ["die-with-host", "rlimits", "network-namespace", "filesystem", "no-new-privileges", "syscall-filter"] {
            #expect(layers[layer] != nil, "layer \(layer) not reported")
        }
        #expect(layers["rlimits"] == "ok")
    }

    @Test func workersAreRecycledAfterNCalls() throws {
        let pool = try pool { $0.maxCallsPerWorker = 3 }
        for _ in 0..<10 { _ = try call(pool, "{}") }
        #expect(pool.statistics.started == 4)
        #expect(pool.statistics.retired == 3)
    }

    /// Good calls mixed with crashes, exits, timeouts and garbage from four threads:
    /// every good call gets its own answer back.
    @Test func aMixedLoadLosesNoGoodResult() throws {
        let pool = try pool(size: 3)
        let actions = ["echo", "segfault", "echo", "garbage", "exit", "echo", "loop", "abort"]
        let good = Atomic(0), goodAnswered = Atomic(0), wrong = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for n in 0..<16 {
                let action = actions[(n + thread) % actions.count]
                let input = #"{"do":"\#(action)","thread":\#(thread),"n":\#(n)}"#
                let isGood = action == "echo" || action == "garbage"
                if isGood { good.add(1, ordering: .relaxed) }
                let output = try? String(decoding: pool.invoke(Array(input.utf8), timeout: .milliseconds(500)), as: UTF8.self)
                if isGood && output == input { goodAnswered.add(1, ordering: .relaxed) }
                if !isGood && output != nil { wrong.add(1, ordering: .relaxed) }
            }
        }
        #expect(goodAnswered.load(ordering: .relaxed) == good.load(ordering: .relaxed))
        #expect(wrong.load(ordering: .relaxed) == 0)
    }
}
