import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// Hosts on network stacks of their own: each `wavehost run` in its own network namespace
/// (and hostname), reaching PostgreSQL over a veth pair and a bridge on the test's
/// namespace, where it listens on that one address. One host is killed: being "another
/// machine", its leases are not judged dead by pid but lapse, and the survivor takes its
/// runs over and finishes every one once. Needs root (CI runs as root).
@Suite(.serialized, .enabled(if: getuid() == 0, "network namespaces need root"))
struct NetworkNamespaceTests {
    @Test func aHostKilledOnItsOwnNetworkHasItsRunsTakenOverByAnother() throws {
        let lab = try NetworkLab(hosts: 2)
        defer { lab.tearDown() }
        let server = try PostgresServer(address: lab.serverAddress, clients: lab.subnet + ".0/24")
        defer { server.stop() }
        let url = try server.makeDatabase()
        let fleet = try HostFleet(database: url, subjects: 400, slowEvery: 8)
        let hosts = try (0..<2).map { try fleet.start($0, prefix: lab.prefix($0)) }
        defer { for host in hosts { kill(host, SIGKILL); _ = HostFleet.wait(host) } }
        let store = try Store(location: url)
        let victim = hosts[0]
        func completed(by host: Int) throws -> Int {
            try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed' AND lease_owner LIKE 'lab-host-\(host):%'")
        }
        // Both at work, then host 0 killed mid-run, after finishing runs while host 1 ran too.
        try HostFleet.waitUntil("host 1 to finish a run", in: store) { _ in try completed(by: 1) > 0 }
        let before = try completed(by: 0)
        try HostFleet.waitUntil("host 0 to be mid-run", in: store) { store in
            try completed(by: 0) > before
                && store.count("SELECT COUNT(*) FROM interactions WHERE status = 'running' AND lease_owner LIKE 'lab-host-0:%'") > 0
        }
        kill(victim, SIGKILL)
        let held = try store.count("SELECT COUNT(*) FROM runs WHERE status = 'running' AND lease_owner LIKE 'lab-host-0:%'")
        let survivor = HostFleet.wait(hosts[1])
        let log = (try? String(contentsOfFile: fleet.log(1), encoding: .utf8)) ?? ""
        #expect(survivor == 8, "the survivor finished the workflow with the dead host's share: \(log)")
        #expect(held > 0, "the victim held runs when it died")
        #expect(try fleet.everyRunOnce(store) == [])
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'failed'") == 0)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'interaction_taken_back' AND payload LIKE '%lab-host-0:%'") > 0)
        // Over the network: each host's connections came from its own namespace's address.
        let clients = try store.rows("SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE client_addr IS NOT NULL")
            .compactMap { $0[0].text }
        #expect(clients.allSatisfy { $0.hasPrefix(lab.subnet + ".") }, "\(clients)")
    }
}
