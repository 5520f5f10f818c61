import Foundation
import Testing
@testable import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostSandbox
@testable import WavehostStore

/// The bundled compliance-status: the effects it derives from a real check of the sample
/// agent, that they fit the compliance tables, and that results which do not match the suite
/// fail loudly instead of writing fewer rows or none.
@Suite(.serialized) struct ComplianceStatusTests {
    private static let at = "2026-12-02T08:00:00.000Z"

    private func status() throws -> ActorInstance {
        try TestPlugins.loader().load(try TestPlugins.product("ComplianceStatus"))
            .makeInstance(config: (["suite": .string(SampleAgent.suitePath)] as JSON).bytes)
    }

    /// A real check of the sample agent started with `arguments`, by the sandboxed checker.
    private func realCheck(_ arguments: [String] = []) throws -> JSON {
        let agent = try SampleAgent(arguments)
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.size = 1
        configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
        configuration.readGrant = [SampleAgent.suitePath]
        let plugin = try TestPlugins.loader().load(try TestPlugins.product("ComplianceChecker"))
        let pool = WorkerPool(plugin: plugin, config: (["suite": .string(SampleAgent.suitePath)] as JSON).bytes, configuration: configuration)
        defer { pool.shutdown() }
        let input: JSON = ["subject": ["agent": "a1", "url": .string(agent.url)]]
        return try JSON.parse(try pool.invoke(input.bytes, timeout: .seconds(60)))
    }

    /// A check of the sample suite made by hand: every phase passing, or as `edit` changes it.
    private func handMadeCheck(_ edit: (inout [JSON]) -> Void = { _ in }) -> JSON {
        let phases: [(String, String, Int)] = [("identity", "discovery", 2), ("identity", "auth", 2), ("catalog", "list", 1),
                                               ("catalog", "item", 2), ("orders", "create", 2), ("orders", "status", 1)]
        var results: [JSON] = phases.map { board, phase, steps in
            ["key": .string("\(board)/\(phase)"), "storyboard": .string(board), "phase": .string(phase),
             "passed": .integer(steps), "total": .integer(steps), "failures": []]
        }
        edit(&results)
        return ["agent": "a1", "url": "http://127.0.0.1:9", "suite": "sample-agent", "started_at": .string(Self.at),
                "finished_at": .string(Self.at), "results": .array(results)]
    }

    private func derive(_ check: JSON, trigger: JSON? = nil) throws -> JSON {
        var members: [(key: String, value: JSON)] = [("subject", ["agent": "a1", "url": "http://127.0.0.1:9"]), ("check", check)]
        if let trigger { members.append(("trigger", trigger)) }
        return try JSON.parse(try status().invoke(JSON.object(members).bytes))
    }

    private func failure(_ check: JSON, trigger: JSON? = nil) throws -> ActorFailure {
        do {
            let output = try derive(check, trigger: trigger)
            throw TestSetupError("expected a failure, got \(output.text)")
        } catch let error as ActorFailure { return error }
    }

    private func effects(_ output: JSON, _ table: String) -> [JSON] {
        (output["effects"]?.arrayValue ?? []).filter { $0["table"]?.stringValue == table }
    }

    @Test func aHeartbeatOfARealCheckWritesHistoryAndEveryStatusRow() throws {
        let check = try realCheck(["--fail", "catalog/list"])
        let started = try #require(check["started_at"]?.stringValue)
        let output = try derive(check, trigger: ["by": "heartbeat", "as": nil, "at": .string(Self.at), "occasion": "tick-17"])
        #expect(output["passing"] == false && output["storyboards_passing"] == 2 && output["storyboards"] == 3, "\(output.text)")
        #expect(output["check_id"] == "a1@tick-17")
        #expect(output["effects"]?.arrayValue?.count == 5)

        let history = effects(output, "check_history")
        #expect(history.count == 1 && history.first?["op"] == "insert")
        let row = try #require(history.first?["row"])
        #expect(row["check_id"] == "a1@tick-17" && row["agent"] == "a1" && row["triggered_by"] == "heartbeat")
        #expect(row["checked_at"] == .string(started), "the check's start, not the trigger's time")
        #expect(row["passed"] == 5 && row["total"] == 6)
        #expect(row["results"] == check["results"])

        let boards = effects(output, "storyboard_status")
        #expect(boards.allSatisfy { $0["op"] == "upsert" })
        #expect(boards.compactMap { $0["row"]?["storyboard"]?.stringValue } == ["identity", "catalog", "orders"])
        let catalog = try #require(boards.first { $0["row"]?["storyboard"] == "catalog" }?["row"])
        #expect(catalog["phases_passed"] == 1 && catalog["phases"] == 2 && catalog["steps_passed"] == 2 && catalog["steps"] == 3)
        #expect(catalog["passing"] == false && catalog["checked_at"] == .string(started))
        let failures = try #require(catalog["failures"]?.arrayValue)
        #expect(failures.count == 1 && failures[0]["phase"] == "list" && failures[0]["step"] == "lists the items")
        #expect(failures[0]["reason"]?.stringValue?.contains("schema: /items/0/price: expected number, got string") == true, "\(failures)")
        let identity = try #require(boards.first { $0["row"]?["storyboard"] == "identity" }?["row"])
        #expect(identity["passing"] == true && identity["phases_passed"] == 2 && identity["steps_passed"] == 4 && identity["failures"] == [])

        let agent = try #require(effects(output, "agent_status").first)
        #expect(agent["op"] == "upsert")
        #expect(agent["row"] == ["agent": "a1", "passing": false, "storyboards_passing": 2, "storyboards": 3,
                                 "checked_at": .string(started), "check_id": "a1@tick-17"])
        #expect(effects(output, "third_party_history").isEmpty)
    }

    @Test func anOwnersTestIsRecordedAsOneAndWithoutATriggerItIsAHeartbeat() throws {
        let owner = try derive(handMadeCheck(), trigger: ["by": "owner_test", "as": "owner@example.com", "at": .string(Self.at)])
        #expect(owner["passing"] == true && owner["storyboards_passing"] == 3)
        #expect(effects(owner, "check_history").first?["row"]?["triggered_by"] == "owner_test")
        #expect(owner["check_id"] == .string("a1@\(Self.at)"), "no occasion: the trigger's time")
        #expect(effects(owner, "storyboard_status").count == 3 && effects(owner, "agent_status").count == 1)

        let bare = try derive(handMadeCheck())
        #expect(effects(bare, "check_history").first?["row"]?["triggered_by"] == "heartbeat")
        #expect(bare["check_id"] == .string("a1@\(Self.at)"), "occasion: the check's started_at")
        #expect(effects(bare, "agent_status").first?["row"]?["passing"] == true)
    }

    @Test func aThirdPartysCheckWritesOnlyItsOwnHistory() throws {
        let output = try derive(handMadeCheck { $0[2] = ["key": "catalog/list", "storyboard": "catalog", "phase": "list", "passed": 0, "total": 1,
                                                           "failures": [["step": "lists the items", "reason": "GET /catalog/items: connection refused"]]] },
                                trigger: ["by": "third_party", "as": "auditor-7", "at": .string(Self.at), "occasion": "audit-3"])
        let all = try #require(output["effects"]?.arrayValue)
        #expect(all.count == 1, "no status effect: \(output.text)")
        #expect(all[0]["op"] == "insert" && all[0]["table"] == "third_party_history")
        let row = try #require(all[0]["row"])
        #expect(row["check_id"] == "a1@audit-3" && row["requested_by"] == "auditor-7" && row["agent"] == "a1")
        #expect(row["passed"] == 5 && row["total"] == 6 && row["checked_at"] == .string(Self.at))
        #expect(output["passing"] == false && output["storyboards_passing"] == 2)

        let anonymous = try failure(handMadeCheck(), trigger: ["by": "third_party", "as": nil, "at": .string(Self.at)])
        #expect(anonymous.status == .invalidInput && anonymous.message.contains("needs \"as\""), "\(anonymous.message)")
        let unknown = try failure(handMadeCheck(), trigger: ["by": "cron"])
        #expect(unknown.status == .invalidInput && unknown.message.contains("heartbeat, owner_test, third_party"))
    }

    /// The bug the issue names: the checker's keys changed, and a parser that matched by key
    /// silently wrote zero rows. Here it fails, naming the keys it does not know.
    @Test func resultKeysTheSuiteDoesNotKnowFailLoudlyNamingThem() throws {
        let renamed = handMadeCheck { results in
            for index in results.indices {
                guard case .object(var members) = results[index] else { continue }
                let board = results[index]["storyboard"]?.stringValue ?? "", phase = results[index]["phase"]?.stringValue ?? ""
                members = members.map { member -> (key: String, value: JSON) in
                    switch member.key {
                    case "key": ("key", .string("\(board).v2/\(phase)"))
                    case "storyboard": ("storyboard", .string("\(board).v2"))
                    default: member
                    }
                }
                results[index] = .object(members)
            }
        }
        let error = try failure(renamed)
        #expect(error.status == .failed, "final: the same check would fail again")
        #expect(error.message.contains("6 result key(s) match no phase of suite \"sample-agent\": identity.v2/discovery, identity.v2/auth"), "\(error.message)")
        #expect(error.message.contains("its phases: identity/discovery, identity/auth, catalog/list, catalog/item, orders/create, orders/status"))

        let oneOff = try failure(handMadeCheck { $0[3] = ["key": "catalog/items", "storyboard": "catalog", "phase": "items", "passed": 2, "total": 2, "failures": []] })
        #expect(oneOff.message.contains("1 result key(s) match no phase of suite \"sample-agent\": catalog/items;"), "\(oneOff.message)")
    }

    @Test func aKeyThatDisagreesWithItsStoryboardAndPhaseFails() throws {
        let error = try failure(handMadeCheck { $0[1] = ["key": "identity/auth", "storyboard": "identity", "phase": "discovery", "passed": 2, "total": 2, "failures": []] })
        #expect(error.status == .failed)
        #expect(error.message.contains(#"results[1]: key "identity/auth" disagrees with its storyboard "identity" and phase "discovery""#), "\(error.message)")
    }

    @Test func phasesMissingFromTheResultsFailNamingThem() throws {
        let error = try failure(handMadeCheck { $0.removeLast(2) })
        #expect(error.status == .failed)
        #expect(error.message.contains("2 phase(s) of suite \"sample-agent\" have no result: orders/create, orders/status"), "\(error.message)")
        let counted = try failure(handMadeCheck { $0[2] = ["key": "catalog/list", "storyboard": "catalog", "phase": "list", "passed": 3, "total": 3, "failures": []] })
        #expect(counted.message.contains("result catalog/list counts 3 steps, but the suite's phase has 1"), "\(counted.message)")
        let twice = try failure(handMadeCheck { $0.append($0[0]) })
        #expect(twice.message.contains("phase identity/discovery has a result already"), "\(twice.message)")
    }

    @Test func zeroResultsFail() throws {
        let error = try failure(handMadeCheck { $0.removeAll() })
        #expect(error.status == .failed)
        #expect(error.message.contains("the check has zero results: no status is derived; the suite \"sample-agent\" has 6 phases"), "\(error.message)")
        let none = try failure(["agent": "a1", "suite": "sample-agent", "started_at": .string(Self.at)])
        #expect(none.status == .failed && none.message.contains("no results list"), "\(none.message)")
        let otherSuite = try failure(handMadeCheck().replacing("suite", with: "another"))
        #expect(otherSuite.message.contains("the check ran suite \"another\""), "\(otherSuite.message)")
    }

    /// Every effect fits the declared tables (docs/compliance.md and samples/compliance/tables.yaml,
    /// which must say the same): its columns, their types and the key.
    @Test func theEffectsFitTheComplianceTables() throws {
        let doc = try String(contentsOfFile: TestPlugins.repositoryRoot + "/docs/compliance.md", encoding: .utf8)
        let sample = try #require(DocSamplesTests.blocks("yaml", in: doc).first { $0.code.hasPrefix("workflow:") })
        let fromDoc = try WorkflowParser(file: "docs/compliance.md").parse(sample.code + "steps:\n  only: {actor: echo-c}\n")
        let fragment = try String(contentsOfFile: SampleAgent.folder + "/tables.yaml", encoding: .utf8)
        let indented = fragment.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { "  " + $0 }.joined(separator: "\n")
        let fromFragment = try WorkflowParser(file: "samples/compliance/tables.yaml")
            .parse("workflow: compliance\nnamespace: compliance\ntables:\n\(indented)\nsteps:\n  only: {actor: echo-c}\n")
        #expect(fromDoc.tables.map(\.schema) == fromFragment.tables.map(\.schema), "the doc and the fragment declare the same tables")
        #expect(fromFragment.tables.map(\.schema.name) == ["agents", "check_history", "third_party_history", "storyboard_status", "agent_status"])
        #expect(fromFragment.tables.allSatisfy { $0.schema.namespace == "compliance" })

        let heartbeat = try derive(try realCheck(["--fail", "orders/status"]))
        let thirdParty = try derive(handMadeCheck(), trigger: ["by": "third_party", "as": "auditor", "at": .string(Self.at)])
        for effect in (heartbeat["effects"]?.arrayValue ?? []) + (thirdParty["effects"]?.arrayValue ?? []) {
            let name = try #require(effect["table"]?.stringValue)
            let table = try #require(fromFragment.table(named: name), "\(name) is declared")
            #expect(throws: Never.self, "\(name): \(effect.text)") { _ = try table.schema.check(effect["row"] ?? .null) }
        }
    }

    /// Through the engine, as a workflow will run them: the checker's output feeds the status
    /// step, whose effects land in the compliance tables (SQLite, typed columns).
    @Test func theEffectsLandInTheComplianceTablesThroughTheEngine() throws {
        let agent = try SampleAgent(["--fail", "orders/create"])
        let fragment = try String(contentsOfFile: SampleAgent.folder + "/tables.yaml", encoding: .utf8)
        let tables = fragment.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { "  " + $0 }.joined(separator: "\n")
        let suite = SampleAgent.suitePath
        let store = try EngineFixtures.store(.sqlite)
        let progress = try EngineFixtures.run("""
            workflow: compliance-test
            namespace: compliance
            subjects: {single: a1}
            tables:
            \(tables)
            steps:
              check:
                actor: compliance-checker
                config: {suite: "\(suite)"}
                network: {allow: ["127.0.0.1"], schemes: [http]}
                read: ["\(suite)"]
              status:
                after: [check]
                actor: compliance-status
                config: {suite: "\(suite)"}
                read: ["\(suite)"]
            """, [Subject(key: "a1", payload: ["agent": "a1", "url": .string(agent.url)])], store: store,
            catalog: try EngineFixtures.catalog(["ComplianceChecker", "ComplianceStatus"]))
        let errors = try store.rows("SELECT error FROM interactions WHERE status <> 'completed'").compactMap { $0[0].text }
        #expect(progress.runsCompleted == 1, "\(errors)")
        let agents = try store.rows("SELECT agent, passing, storyboards_passing, storyboards, check_id FROM compliance_agent_status")
        #expect(agents.count == 1)
        #expect(agents.first?[0].text == "a1" && agents.first?[1].integer == 0 && agents.first?[2].integer == 2 && agents.first?[3].integer == 3)
        #expect(agents.first?[4].text?.hasPrefix("a1@") == true)
        let boards = try store.rows("SELECT storyboard, phases_passed, phases, steps_passed, steps, passing FROM compliance_storyboard_status ORDER BY storyboard")
        #expect(boards.map { $0[0].text ?? "" } == ["catalog", "identity", "orders"])
        #expect(boards.last.map { [$0[1].integer, $0[2].integer, $0[3].integer, $0[4].integer, $0[5].integer] } == [1, 2, 1, 3, 0])
        #expect(try store.count("SELECT COUNT(*) FROM compliance_check_history WHERE triggered_by = 'heartbeat' AND passed = 5 AND total = 6") == 1)
        #expect(try store.count("SELECT COUNT(*) FROM compliance_third_party_history") == 0)
    }

    @Test func passesItsConformanceCheck() throws {
        let plugin = try TestPlugins.product("ComplianceStatus")
        let sandboxed = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", plugin, "--cache-dir", try TestPlugins.temporaryDirectory()])
        #expect(sandboxed.status == 0, "\(sandboxed.output)\(sandboxed.error)")
        let trusted = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", plugin, "--trust", try TestPlugins.sha256(plugin),
                                                            "--cache-dir", try TestPlugins.temporaryDirectory()])
        #expect(trusted.status == 0, "\(trusted.output)\(trusted.error)")
        #expect(trusted.output.contains("PASS  example \"a heartbeat: history, a status row per storyboard, the agent's status\": output matches"),
                "\(trusted.output)")
    }
}

extension JSON {
    /// This object with member `key`'s value replaced by `value`.
    fileprivate func replacing(_ key: String, with value: JSON) -> JSON {
        guard case .object(let members) = self else { return self }
        return .object(members.map { $0.key == key ? (key, value) : $0 })
    }
}
