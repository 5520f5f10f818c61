import Foundation
import Synchronization
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// Several hosts on one PostgreSQL, as real `wavehost run` processes: they start together
/// on a fresh database, split the work, take over a killed one's runs without using its
/// steps' attempts, and a host whose clock is wrong steals nothing.
@Suite(.serialized) struct SeveralHostsTests {
    @Test func threeHostsStartedTogetherSplitTheWorkAndFinishAKilledOnesRuns() throws {
        let url = try PostgresServer.makeDatabase()  // fresh: the three hosts migrate it at once
        let fleet = try HostFleet(database: url, subjects: 3000, slowEvery: 40)
        let hosts = try (0..<3).map { try fleet.start($0) }
        defer { for host in hosts { kill(host, SIGKILL) } }
        let store = try Store(location: url)
        let victim = hosts[0]
        // Killed while its work is under way: some of its interactions are recorded running.
        try HostFleet.waitUntil("host 0 to be mid-run", in: store) { store in
            try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") >= 600
                && store.count("SELECT COUNT(*) FROM interactions WHERE status = 'running' AND lease_owner LIKE '%:\(victim):%'") > 0
        }
        kill(victim, SIGKILL)
        #expect(HostFleet.wait(victim) == 128 + SIGKILL)
        let statuses = hosts.dropFirst().map(HostFleet.wait)
        let logs = (1...2).map { (try? String(contentsOfFile: fleet.log($0), encoding: .utf8)) ?? "" }
        // Both survivors finished the workflow with other hosts' help: exit 8, not 0 or 6.
        #expect(statuses == [8, 8], "\(logs)")

        #expect(try fleet.everyRunOnce(store) == [])
        // The kill used no attempt (there is one): nothing failed but what the survivors took back.
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'failed'") == 0)
        let takenBack = try store.count("SELECT COUNT(*) FROM interactions WHERE error LIKE 'taken back:%'")
        #expect(takenBack > 0, "the victim had interactions running")
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status <> 'completed'") == takenBack)
        // Each host completed a share, none more than 60%.
        let shares = try store.rows("SELECT lease_owner, COUNT(*) FROM runs WHERE status = 'completed' GROUP BY lease_owner")
            .compactMap { $0[1].integer }
        #expect(shares.count == 3, "\(shares)")
        #expect(shares.allSatisfy { $0 > 0 && $0 <= 1800 }, "\(shares)")
        #expect(try store.count("SELECT COUNT(*) FROM hosts") == 3)
    }

    @Test func aHostWhoseClockRunsAMinuteAheadStealsNoLiveLease() throws {
        let url = try PostgresServer.makeDatabase()
        // Every subject meets the slow step: the first host holds all 60 for a few seconds.
        let fleet = try HostFleet(database: url, subjects: 60, slowEvery: 1, extra: ["--runs-in-flight", "60"])
        let store = try Store(location: url)
        let first = try fleet.start(0)
        defer { kill(first, SIGKILL) }
        try HostFleet.waitUntil("the first host to hold every run", in: store) { store in
            try store.count("SELECT COUNT(*) FROM runs WHERE lease_owner IS NOT NULL AND status <> 'pending'") == 60
                && store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") < 10
        }
        // Its leases are live on the database's clock; by this host's, they lapsed a minute ago.
        let ahead = try fleet.start(1, environment: ["WAVEHOST_TEST_CLOCK_OFFSET_MS": "60000"])
        defer { kill(ahead, SIGKILL) }
        let (firstStatus, aheadStatus) = (HostFleet.wait(first), HostFleet.wait(ahead))
        let log = (try? String(contentsOfFile: fleet.log(1), encoding: .utf8)) ?? ""
        #expect(firstStatus == 0, "every run completed by the first host")
        #expect(aheadStatus == 8, "the second waited for the first's runs and finished none: \(log)")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind IN ('interaction_taken_back', 'run_lost')") == 0)
        #expect(try store.count("SELECT COUNT(DISTINCT lease_owner) FROM runs") == 1)
        #expect(try fleet.everyRunOnce(store) == [])
    }

    @Test func hostsOpeningAFreshDatabaseAtOnceAllComeUp() throws {
        let url = try PostgresServer.makeDatabase()
        let failures = Mutex<[String]>([])
        let workflow = try EngineFixtures.workflow(HostFleet.workflow())
        let threads = (0..<6).map { _ in Thread {
            do {
                let store = try Store(location: url)
                _ = try store.registerWorkflow(workflow, source: HostFleet.workflow())
            } catch { failures.withLock { $0.append("\(error)") } }
        } }
        threads.forEach { $0.start() }
        try HostFleet.waitUntil("six stores to open", seconds: 60, in: try Store(location: url)) { store in
            try store.count("SELECT COUNT(*) FROM workflows") == 1 && threads.allSatisfy(\.isFinished)
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try Store(location: url).count("SELECT COUNT(*) FROM schema_migrations") == Migrations.postgres.count)
    }
}
