import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// SIGTERM and SIGINT drain a real `wavehost serve`: nothing new starts, calls under way
/// finish (or, past --drain-timeout, are failed as interrupted), the process exits 0, and a
/// second serve finishes the rest — an interrupted call retried without using an attempt.
@Suite(.serialized) struct ServeDrainTests {
    static let subjects = 6

    /// A folder with `subjects` subjects and a workflow whose one step sleeps in a worker;
    /// `retries: {attempts: 1}`, so a retry that used an attempt would fail the run.
    static func setUp(sleepMilliseconds: Int) throws -> String {
        let folder = try TestPlugins.temporaryDirectory()
        try ServeHost.sleepy(sleepMilliseconds, into: folder + "/plugins")
        try (0..<subjects).map { #"{"id":"s\#($0)"}"# }.joined(separator: "\n")
            .write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        try """
            workflow: drain
            subjects: {file: subjects.jsonl, key: id}
            steps:
              slow: {actor: sleepy, input: subject, timeout: 120s, retries: {attempts: 1}}
            """.write(toFile: folder + "/drain.yaml", atomically: true, encoding: .utf8)
        return folder
    }

    static func arguments(_ folder: String, drainTimeout: String) -> [String] {
        [folder + "/drain.yaml", "--plugins", folder + "/plugins", "--database", folder + "/wavehost.db", "--every", "0.2",
         "--concurrency", "2", "--cache-dir", folder + "/cache", "--drain-timeout", drainTimeout]
    }

    /// Ids of the interactions in `status`.
    static func ids(_ store: Store, _ status: String) throws -> Set<Int64> {
        Set(try store.rows("SELECT id FROM interactions WHERE status = '\(status)'").compactMap { $0[0].integer })
    }

    /// Serves `folder` until every run is completed, then stops with SIGTERM.
    static func serveToTheEnd(_ folder: String, _ store: Store) throws {
        let host = try ServeHost(folder: folder, arguments(folder, drainTimeout: "30"), logName: "second.log")
        try host.wait(for: "every run completed") {
            try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == subjects
        }
        #expect(host.stop(with: SIGTERM) == 0, "\(host.output)")
    }

    @Test func sigtermLetsCallsUnderWayFinishAndLosesNothing() throws {
        let folder = try Self.setUp(sleepMilliseconds: 700)
        let host = try ServeHost(folder: folder, Self.arguments(folder, drainTimeout: "60"))
        let store = try Store(location: folder + "/wavehost.db")
        try host.wait(for: "calls under way") { try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'running'") > 0 }
        let underWay = try Self.ids(store, "running")
        #expect(host.stop(with: SIGTERM) == 0, "\(host.output)")
        // The calls under way at the signal finished and were recorded; nothing else started.
        let completed = try Self.ids(store, "completed")
        #expect(underWay.isSubset(of: completed), "under way \(underWay.sorted()), completed \(completed.sorted())\n\(host.output)")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status <> 'completed'") == 0, "\(host.output)")
        #expect(completed.count < Self.subjects, "the drain started new work: \(completed.count) completed")
        #expect(host.output.contains("draining:") && host.output.contains("stopped"), "\(host.output)")

        try Self.serveToTheEnd(folder, store)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") == Self.subjects)
        #expect(try store.count("SELECT COUNT(*) FROM interactions") == Self.subjects, "a call was made twice")
    }

    /// Ctrl-C twice: the second signal interrupts the calls under way at once, long before
    /// the drain deadline, and they are recorded as interrupted like at the deadline.
    @Test func aSecondSignalInterruptsTheDrainAtOnce() throws {
        let folder = try Self.setUp(sleepMilliseconds: 60_000)
        let host = try ServeHost(folder: folder, Self.arguments(folder, drainTimeout: "120"))
        let store = try Store(location: folder + "/wavehost.db")
        try host.wait(for: "calls under way") { try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'running'") > 0 }
        kill(host.pid, SIGTERM)
        try host.wait(for: "the drain to begin") { host.output.contains("draining:") }
        #expect(host.stop(with: SIGINT) == 0, "\(host.output)")
        #expect(host.output.contains("second signal: interrupting the calls under way now"), "\(host.output)")
        let interrupted = try store.rows("SELECT error FROM interactions WHERE status = 'failed'")
        #expect(!interrupted.isEmpty && interrupted.allSatisfy { $0[0].text?.hasPrefix(InteractionRecord.interruptedPrefix) == true },
                "\(interrupted)")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status IN ('running', 'pending')") == 0)
    }

    @Test func callsPastTheDrainDeadlineAreInterruptedAndRetriedWithoutUsingAnAttempt() throws {
        // Calls of a minute, a drain of half a second: those under way are surely interrupted.
        let folder = try Self.setUp(sleepMilliseconds: 60_000)
        let host = try ServeHost(folder: folder, Self.arguments(folder, drainTimeout: "0.5"))
        let store = try Store(location: folder + "/wavehost.db")
        try host.wait(for: "calls under way") { try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'running'") > 0 }
        #expect(host.stop(with: SIGINT) == 0, "\(host.output)")
        let interrupted = try store.rows("SELECT run_id, step_id, attempt, error FROM interactions WHERE status = 'failed'")
        #expect(!interrupted.isEmpty, "\(host.output)")
        for row in interrupted {
            #expect(row[3].text?.hasPrefix(InteractionRecord.interruptedPrefix) == true, "\(row)")
        }
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status IN ('running', 'pending')") == 0)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'interaction_interrupted'") == interrupted.count)
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'failed'") == 0)
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE lease_owner IS NOT NULL AND status <> 'completed'") == 0,
                "the drained host kept its leases")

        // The next host, with a quick build of the same actor, finishes every run although
        // the step allows one attempt: the interrupted ones did not use it.
        try ServeHost.sleepy(20, into: folder + "/plugins")
        try Self.serveToTheEnd(folder, store)
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'failed'") == 0)
        for row in interrupted {
            let (run, step, attempt) = (row[0].integer ?? -1, row[1].integer ?? -1, row[2].integer ?? -1)
            #expect(try store.count("""
                SELECT COUNT(*) FROM interactions WHERE run_id = \(run) AND step_id = \(step) AND status = 'completed' AND attempt = \(attempt)
                """) == 1, "run \(run): no completed retry with attempt \(attempt)")
        }
    }
}
