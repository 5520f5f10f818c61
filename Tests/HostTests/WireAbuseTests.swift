import Foundation
import Synchronization
import Testing
import WavehostEngine
import WavehostPlugins
import WavehostSandbox

extension TestPlugins {
    /// The wire fixture: an actor that floods the wire, closes its channels, or fails with bad text.
    static func wireHostile() throws -> String {
        try compile(source: repositoryRoot + "/Tests/HostTests/Fixtures/wire_hostile_actor.c", output: "libwirehostile.so",
                    flags: ["-std=gnu11"])
    }
}

/// Real workers abusing the wire: a flood of log frames, a closed stdio, a closed socket.
/// Each call ends by its deadline or sooner, and the host never spins a core waiting.
@Suite struct WireAbuseTests {
    /// Log messages the pool's sink received.
    final class LogRecord: Sendable {
        let messages = Mutex<[String]>([])
        var all: [String] { messages.withLock { $0 } }
    }

    private func pool(_ record: LogRecord = LogRecord()) throws -> WorkerPool {
        let plugin = try TestPlugins.loader().load(try TestPlugins.wireHostile())
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        return WorkerPool(plugin: plugin, configuration: configuration) { _, message in
            record.messages.withLock { $0.append(message) }
        }
    }

    /// Runs `input` and returns its failure with the CPU time this thread spent and the
    /// wall time. The pool calls on the caller's thread, so RUSAGE_THREAD counts exactly the
    /// host's side of the call (RUSAGE_SELF would count tests running in parallel too).
    private func failure(_ pool: WorkerPool, _ input: String, timeout: Duration,
                         sourceLocation: SourceLocation = #_sourceLocation) -> (SandboxFailure, cpu: Double, wall: Double)?
    {
        let cpuBefore = threadCPUSeconds(), wallBefore = Date()
        do {
            let output = try pool.invoke(Array(input.utf8), timeout: timeout)
            Issue.record("expected a failure, got \(String(decoding: output, as: UTF8.self))", sourceLocation: sourceLocation)
            return nil
        } catch {
            return (error, threadCPUSeconds() - cpuBefore, Date().timeIntervalSince(wallBefore))
        }
    }

    private func threadCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD: GNU-only, so not imported by name
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Through the host's log service, and as raw frames written onto the socket past the worker.
    @Test(arguments: ["log-flood", "frame-flood"])
    func aFloodOfLogFramesIsCutOffAtTheDeadlineWithoutBurningTheHost(_ action: String) throws {
        let record = LogRecord()
        let pool = try pool(record)
        let (failed, cpu, wall) = try #require(failure(pool, #"{"do":"\#(action)"}"#, timeout: .seconds(1)))
        #expect(failed.code == .timedOut, "\(failed.message)")
        #expect(failed.message.contains("timed out after") && failed.message.contains("while it flooded the wire with log frames"),
                "\(failed.message)")
        #expect(failed.elapsedNanoseconds >= 1_000_000_000)
        #expect(wall < 1.5, "held \(wall) s past a 1 s deadline")
        #expect(cpu < wall * 0.25, "the host spent \(cpu) s of CPU in \(wall) s")
        let logs = record.all
        #expect(logs.filter { $0 == "flood" }.count == 1_000, "the first 1,000 pass, the rest are dropped")
        let report = try #require(logs.last, "the dropped frames are reported")
        #expect(report.contains("more log messages dropped") && report.contains("1000 per call"), "\(report)")
        #expect(try pool.invoke(Array(#"{"after":"flood"}"#.utf8), timeout: .seconds(10)) == Array(#"{"after":"flood"}"#.utf8))
    }

    @Test func anAnswerAfterTooManyLogsArrivesAndTheRestAreCountedOnce() throws {
        let record = LogRecord()
        let pool = try pool(record)
        let output = try pool.invoke(Array(#"{"do":"log","n":"5000"}"#.utf8), timeout: .seconds(20))
        #expect(String(decoding: output, as: UTF8.self) == #"{"logged":5000}"#)
        let logs = record.all
        #expect(logs.count == 1_001)
        #expect(logs.first == "message 0" && logs[999] == "message 999")
        #expect(logs.last?.hasPrefix("4000 more log messages dropped") == true, "\(logs.last ?? "")")
        // The budget is per call: the next call logs again.
        _ = try pool.invoke(Array(#"{"do":"log","n":"3"}"#.utf8), timeout: .seconds(10))
        #expect(record.all.count == 1_004)
    }

    /// The worker lives on, asleep, with its stdio or its socket closed: the host notices the
    /// hang-up at once, kills it, and waits in poll, not in a loop.
    @Test(arguments: [("close-stdio", "closed its stderr while still running"), ("close-wire", "closed its socket while still running")])
    func aWorkerThatHangsUpFailsPromptlyWithoutSpinning(_ action: String, _ expected: String) throws {
        let pool = try pool()
        let (failed, cpu, wall) = try #require(failure(pool, #"{"do":"\#(action)"}"#, timeout: .seconds(10)))
        #expect(failed.code == .crashed)
        #expect(failed.message.contains(expected), "\(failed.message)")
        #expect(wall < 1.5, "a hang-up ends the call at once, not at the deadline (\(wall) s)")
        #expect(cpu < wall * 0.25, "the host spent \(cpu) s of CPU in \(wall) s")
        #expect(try pool.invoke(Array("{}".utf8), timeout: .seconds(10)) == Array("{}".utf8), "a fresh worker serves the next call")
    }
}
