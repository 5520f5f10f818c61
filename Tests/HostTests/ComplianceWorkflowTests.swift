import Foundation
import Testing
import WavehostJSON
@testable import WavehostStore

/// The bundled compliance workflow as its users run it: agents registered with `wavehost
/// agents`, heartbeats, an owner's test, a third party's, and the status contract (last
/// write wins by the time the check ran) with two hosts racing.
@Suite struct ComplianceWorkflowTests {
    static let workflow = TestPlugins.repositoryRoot + "/samples/workflows/compliance.yaml"

    /// `wavehost ARGUMENTS --database DATABASE`; fails the test on an unexpected status.
    @discardableResult
    static func cli(_ arguments: [String], _ database: String, expect status: Int32 = 0, _ folder: String) throws -> TestPlugins.ProcessResult {
        let result = try TestPlugins.run(TestPlugins.cli, arguments + ["--database", database] + (arguments.first == "run"
            ? ["--plugins", TestPlugins.productsDirectory, "--cache-dir", folder + "/cache", "--quiet"] : []))
        #expect(result.status == status, "wavehost \(arguments.joined(separator: " ")): \(result.output)\n\(result.error)")
        return result
    }

    static func agentStatus(_ store: Store) throws -> JSON? {
        try store.row(of: try store.tableSchema("compliance.agent_status"), key: "agent-1")
    }

    static func rows(_ store: Store, _ table: String) throws -> [JSON] {
        try store.rows(of: try store.tableSchema("compliance." + table)).map(\.row)
    }

    @Test(arguments: Backend.allCases)
    func heartbeatOwnerAndThirdPartyWriteEachTheirOwn(_ backend: Backend) throws {
        let folder = try TestPlugins.temporaryDirectory()
        let database = backend == .sqlite ? folder + "/wavehost.db" : try PostgresServer.makeDatabase()
        let agent = try SampleAgent()
        try Self.cli(["agents", "add", "agent-1", "--url", agent.url, "--owner", "team-a", "--workflow", Self.workflow], database, folder)
        let listed = try Self.cli(["agents", "list"], database, folder).output
        #expect(listed.contains("agent-1") && listed.contains("team-a") && listed.contains("not checked yet"), "\(listed)")

        // The heartbeat: every phase passes.
        try Self.cli(["run", Self.workflow], database, folder)
        let store = try Store(location: database)
        let beat = try #require(try Self.agentStatus(store))
        #expect(beat["passing"] == .bool(true) && beat["storyboards"] == .integer(3) && beat["storyboards_passing"] == .integer(3), "\(beat.text)")
        #expect(try Self.rows(store, "storyboard_status").count == 3)
        #expect(try Self.rows(store, "check_history").map { $0["triggered_by"]?.stringValue } == ["heartbeat"])

        // The owner's test, with a phase failing: the status follows it.
        try agent.control(["fail": ["orders/status"]])
        try Self.cli(["run", Self.workflow, "--subject", "agent-1", "--trigger", "owner_test"], database, folder)
        let owner = try #require(try Self.agentStatus(store))
        #expect(owner["passing"] == .bool(false) && owner["storyboards_passing"] == .integer(2), "\(owner.text)")
        let orders = try Self.rows(store, "storyboard_status").first { $0["storyboard"]?.stringValue == "orders" }
        #expect(orders?["passing"] == .bool(false) && orders?["phases_passed"] == .integer(1), "\(orders?.text ?? "none")")
        #expect(Set(try Self.rows(store, "check_history").compactMap { $0["triggered_by"]?.stringValue }) == ["heartbeat", "owner_test"])

        // A third party's test, everything passing again: their history only, the owner's status untouched.
        try agent.control(["fail": []])
        try Self.cli(["run", Self.workflow, "--subject", "agent-1", "--trigger", "third_party", "--as", "acme"], database, folder)
        #expect(try Self.agentStatus(store) == owner, "a third party's check changed the owner's status")
        #expect(try Self.rows(store, "check_history").count == 2)
        let theirs = try Self.rows(store, "third_party_history")
        #expect(theirs.count == 1 && theirs.first?["requested_by"] == .string("acme") && theirs.first?["passed"] == .integer(6), "\(theirs)")
        #expect(try Self.cli(["agents", "list"], database, folder).output.contains("failing 2/3"))

        // Removed, it is no longer checked; its history stays.
        try Self.cli(["agents", "remove", "agent-1"], database, folder)
        try Self.cli(["agents", "remove", "agent-1"], database, expect: 2, folder)
        try Self.cli(["run", Self.workflow, "--trigger", "owner_test"], database, folder)
        #expect(try Self.rows(store, "check_history").count == 2)
    }

    /// samples/compliance/run, as a newcomer runs it (with this build's binaries).
    @Test func theSampleScriptChecksTheSampleAgentOnOneMachine() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let result = try TestPlugins.run("/usr/bin/env", ["WAVEHOST_BIN=" + TestPlugins.productsDirectory, "WAVEHOST_DATABASE=" + folder + "/c.db",
                                                          TestPlugins.repositoryRoot + "/samples/compliance/run"])
        #expect(result.status == 0, "\(result.output)\n\(result.error)")
        #expect(result.output.contains("sample-agent") && result.output.contains("failing 2/3"), "\(result.output)")
        #expect(!result.output.contains("runs failed"), "\(result.output)")
        let store = try Store(location: folder + "/c.db")
        #expect(try Self.rows(store, "third_party_history").count == 1)
        #expect(try Self.rows(store, "check_history").count == 2)
    }

    /// The checker's suite renamed a phase the status step's suite still has: the derivation
    /// fails the run, naming the keys, on the dashboard too, and writes no status at all.
    @Test func resultsTheStatusCannotPlaceFailTheRunLoudly() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let database = folder + "/wavehost.db"
        let agent = try SampleAgent()
        let suite = folder + "/renamed-suite.json"
        try String(contentsOfFile: SampleAgent.suitePath, encoding: .utf8)
            .replacingOccurrences(of: #""name": "discovery""#, with: #""name": "discover""#)
            .write(toFile: suite, atomically: true, encoding: .utf8)
        let workflow = folder + "/compliance.yaml"
        try String(contentsOfFile: Self.workflow, encoding: .utf8)
            .replacingOccurrences(of: "actor: compliance-checker\n    config: {suite: \"${WORKFLOW_DIR}/../compliance/suite.json\"}\n    read: [\"${WORKFLOW_DIR}/../compliance/suite.json\"]",
                                  with: "actor: compliance-checker\n    config: {suite: \"\(suite)\"}\n    read: [\"\(suite)\"]")
            .replacingOccurrences(of: "${WORKFLOW_DIR}", with: TestPlugins.repositoryRoot + "/samples/workflows")
            .write(toFile: workflow, atomically: true, encoding: .utf8)
        #expect(try String(contentsOfFile: workflow, encoding: .utf8).contains(suite), "the copy's checker did not get the renamed suite")
        try Self.cli(["agents", "add", "agent-1", "--url", agent.url, "--owner", "team-a", "--workflow", workflow], database, folder)
        let result = try Self.cli(["run", workflow], database, expect: 5, folder)
        #expect(result.output.contains("identity/discover"), "the dashboard names the unknown key: \(result.output)")
        let store = try Store(location: database)
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'failed'") == 1)
        let error = try store.rows("SELECT error FROM runs").first?.first?.text ?? ""
        #expect(error.contains("identity/discover") && error.contains("status"), "\(error)")
        for table in ["check_history", "storyboard_status", "agent_status"] { #expect(try Self.rows(store, table).isEmpty, "\(table)") }
        let status = try TestPlugins.run(TestPlugins.cli, ["status", "--database", database])
        #expect(status.output.contains("Recent errors") && status.output.contains("identity/discover"), "\(status.output)")
    }

    /// Two hosts on one PostgreSQL: the first's check starts first but arrives last; the
    /// second's, newer, stays the status. History keeps both.
    @Test func anOlderCheckArrivingLastDoesNotWin() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let database = try PostgresServer.makeDatabase()
        let agent = try SampleAgent()
        // A check of this copy waits up to 20 s per request, so a slowed agent makes it late, not failed.
        let workflow = folder + "/compliance.yaml"
        try String(contentsOfFile: Self.workflow, encoding: .utf8)
            .replacingOccurrences(of: "actor: compliance-checker\n    config: {", with: "actor: compliance-checker\n    config: {timeout_ms: 20000, ")
            .replacingOccurrences(of: "${WORKFLOW_DIR}", with: TestPlugins.repositoryRoot + "/samples/workflows")
            .write(toFile: workflow, atomically: true, encoding: .utf8)
        try Self.cli(["agents", "add", "agent-1", "--url", agent.url, "--owner", "team-a", "--workflow", workflow], database, folder)
        let store = try Store(location: database)

        // Host A: its check's first request is held 6 s.
        try agent.control(["delay_ms": 6000])
        let hostA = try TestPlugins.start(TestPlugins.cli, ["run", workflow, "--trigger", "owner_test", "--database", database,
                                                            "--plugins", TestPlugins.productsDirectory, "--cache-dir", folder + "/cache-a", "--quiet"],
                                          log: folder + "/a.log")
        try wait("host A's check to reach the agent") { try agent.control([:])["requests"]?.intValue ?? 0 >= 1 }
        // Host B, later and fast, with a phase failing: its check is the newer.
        try agent.control(["delay_ms": 0, "fail": ["orders/status"]])
        let hostB = try TestPlugins.start(TestPlugins.cli, ["run", workflow, "--trigger", "owner_test", "--database", database,
                                                            "--plugins", TestPlugins.productsDirectory, "--cache-dir", folder + "/cache-b", "--quiet"],
                                          log: folder + "/b.log")
        try wait("host B's status written") { try Self.agentStatus(store) != nil }
        let newer = try #require(try Self.agentStatus(store))
        let first = try store.rows("SELECT status FROM runs ORDER BY id LIMIT 1").first?.first?.text
        #expect(first != "completed", "host A's run finished before host B's: the race was not run")
        for (name, pid) in [("A", hostA), ("B", hostB)] {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let log = (try? String(contentsOfFile: folder + "/\(name.lowercased()).log", encoding: .utf8)) ?? ""
            #expect(status == 0 || (status >> 8) == 8, "host \(name) exited \(status): \(log)")
        }
        let history = try Self.rows(store, "check_history")
        #expect(history.count == 2)
        let older = try #require(history.first { $0["check_id"] != newer["check_id"] })
        #expect(try #require(older["checked_at"]?.stringValue) < (newer["checked_at"]?.stringValue ?? ""), "\(history)")
        // The older check arrived last, and the status is still the newer one's.
        #expect(try Self.agentStatus(store) == newer)
        #expect(newer["passing"] == .bool(false), "\(newer.text)")
        for row in try Self.rows(store, "storyboard_status") { #expect(row["checked_at"] == newer["checked_at"], "\(row.text)") }
    }

    private func wait(_ what: String, _ condition: () throws -> Bool) throws {
        for _ in 0..<1200 {
            if try condition() { return }
            usleep(50_000)
        }
        throw TestSetupError("never saw \(what)")
    }
}
