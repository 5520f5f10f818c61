import Foundation
import Testing
@testable import WavehostEngine
import WavehostHash
import WavehostJSON
@testable import WavehostStore

/// A variant's role, mode, isolation and limits, typed from the workflow file through the
/// store and back, on both backends (issue 13, item 2).
@Suite struct VariantRecordTests {
    private static let yaml = """
        workflow: typed
        steps:
          grade:
            variants:
              - {actor: echo-c, role: champion, weight: 60, limits: {memory_mb: 256, cpu_seconds: 10}}
              - {actor: echo-c, role: challenger, weight: 40, isolation: inprocess, limits: {memory_mb: 128}}
              - {actor: echo-c, config: {wrap: x}, role: challenger, weight: 0, mode: shadow}
        """

    private func register(_ store: Store, _ yaml: String = yaml) throws {
        _ = try store.registerWorkflow(try EngineFixtures.workflow(yaml), source: yaml)
    }

    @Test(arguments: Backend.allCases)
    func eachVariantKeepsItsOwnLimitsRoleModeAndIsolation(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        try register(store)
        let variants = try store.variants(workflow: "typed", step: "grade")
        #expect(variants.map(\.role) == [.champion, .challenger, .challenger])
        #expect(variants.map(\.mode) == [.live, .live, .shadow])
        #expect(variants.map(\.isolation) == [.process, .inprocess, .process])
        #expect(variants.map(\.config) == [[:], [:], ["wrap": "x"]])
        // The first two share actor and config: each keeps its own limits.
        #expect(variants.map(\.limits) == [["memory_mb": 256, "cpu_seconds": 10], ["memory_mb": 128], nil])
        // Registering the same text again changes nothing.
        try register(store)
        #expect(try store.variants(workflow: "typed", step: "grade") == variants)
    }

    @Test(arguments: Backend.allCases)
    func aVariantAddedLaterHasTheLimitsItWasGiven(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        try register(store)
        let definition = WorkflowDefinition.Variant(actor: "echo-c", config: [:], role: .challenger, weight: 0, mode: .live,
                                                    isolation: .process, limits: ["memory_mb": 64], line: 0)
        let id = try store.addVariant(workflow: "typed", step: "grade", WorkflowRecord.Variant(definition))
        let added = try #require(try store.variants(workflow: "typed", step: "grade").first { $0.id == id })
        #expect(added.limits == ["memory_mb": 64] && added.role == .challenger && added.mode == .live)
    }

    @Test func theCLIAddsAVariantWithLimitsAndRefusesBadOnes() throws {
        let database = try TestPlugins.temporaryDirectory() + "/wavehost.db"
        try register(try Store(location: database))
        let added = try TestPlugins.run(TestPlugins.cli, ["variants", "add", "grade", "--workflow", "typed", "--actor", "echo-c",
                                                          "--config", #"{"wrap": "cli"}"#, "--limits", #"{"memory_mb": 96, "processes": 8}"#,
                                                          "--mode", "shadow", "--database", database])
        #expect(added.status == 0, "\(added.error)")
        let variant = try #require(try Store(location: database).variants(workflow: "typed", step: "grade").last)
        #expect(variant.config == ["wrap": "cli"] && variant.limits == ["memory_mb": 96, "processes": 8], "\(variant)")
        #expect(variant.role == .challenger && variant.mode == .shadow && variant.isolation == .process)

        let listed = try TestPlugins.run(TestPlugins.cli, ["variants", "list", "--workflow", "typed", "--database", database])
        #expect(listed.output.contains(#"limits {"memory_mb":96,"processes":8}"#), "\(listed.output)")

        for (option, value, message) in [("--limits", #"{"memory_mb": -1}"#, "--limits: limits.memory_mb must be a positive whole number"),
                                         ("--limits", "{", "--limits is not JSON"),
                                         ("--role", "boss", "The value 'boss' is invalid for '--role <role>'"),
                                         ("--isolation", "vm", "Please provide one of 'process' and 'inprocess'")] {
            let refused = try TestPlugins.run(TestPlugins.cli, ["variants", "add", "grade", "--workflow", "typed", "--actor", "echo-c",
                                                                option, value, "--database", database])
            #expect(refused.status == 2 && refused.error.contains(message), "\(option) \(value): \(refused.status) \(refused.error)")
        }
        #expect(try Store(location: database).variants(workflow: "typed", step: "grade").count == 4, "nothing refused was added")
    }

    @Test(arguments: Backend.allCases)
    func aCorruptRoleIsAnErrorNamingTheVariant(_ backend: Backend) throws {
        let store = try EngineFixtures.store(backend)
        try register(store)
        let id = try store.variants(workflow: "typed", step: "grade")[1].id  // live: counted too
        // A value no Wavehost writes: past the CHECK constraint, as a hand edit would be.
        switch backend {
        case .sqlite: _ = try store.rows("PRAGMA ignore_check_constraints = ON")
        case .postgres: _ = try store.rows("ALTER TABLE variants DROP CONSTRAINT variants_role_check")
        }
        _ = try store.rows("UPDATE variants SET role = 'boss' WHERE id = \(id)")
        let message = "variant \(id) (grade, echo-c) has role \"boss\", expected champion or challenger"
        let error = #expect(throws: StoreError.self) { try store.variants(workflow: "typed", step: "grade") }
        #expect(error?.message == message, "\(String(describing: error))")
        let counted = #expect(throws: StoreError.self) { try store.variantCounts(workflow: "typed", step: "grade") }
        #expect(counted?.message == message, "\(String(describing: counted))")
        _ = try store.rows("UPDATE variants SET role = 'challenger', limits = '[1]' WHERE id = \(id)")
        let limits = #expect(throws: StoreError.self) { try store.variants(workflow: "typed", step: "grade") }
        #expect(limits?.message == "variant \(id) (grade, echo-c) has limits \"[1]\", expected a JSON object", "\(String(describing: limits))")
    }

    /// Migration 8 on a database the previous release wrote (schema 7, variants without
    /// limits, one added by `variants add`): the file's variants get their limits back the
    /// next time the file is registered; the added one keeps the defaults.
    @Test(arguments: Backend.allCases)
    func anExistingDatabaseGetsItsLimitsFromTheFile(_ backend: Backend) throws {
        let location = backend == .sqlite ? try TestPlugins.temporaryDirectory() + "/wavehost.db" : try PostgresServer.makeDatabase()
        let connection: any SQLConnection = backend == .sqlite ? try SQLiteConnection(path: location) : try PostgresConnection(url: location)
        try Migrations.migrate(connection, migrations: Array(connection.migrations.prefix { $0.version <= 7 }))
        let p = connection.placeholder
        let workflowID = try #require(try connection.query("""
            INSERT INTO workflows (name, environment, definition, sha256, created_at) VALUES (\(connection.placeholders(5))) RETURNING id
            """, [.text("typed"), .text("prod"), .text(Self.yaml), .text(ContentHash.sha256(of: Array(Self.yaml.utf8))), .integer(0)])
            .first?.first?.integer)
        let stepID = try #require(try connection.query("""
            INSERT INTO steps (workflow_id, name, timeout_ms) VALUES (\(p(1)), 'grade', 30000) RETURNING id
            """, [.integer(workflowID)]).first?.first?.integer)
        for (config, role, weight, mode, isolation) in [("{}", "champion", 60, "live", "process"), ("{}", "challenger", 40, "live", "inprocess"),
                                                        (#"{"wrap":"x"}"#, "challenger", 0, "shadow", "process"),
                                                        ("{}", "challenger", 0, "live", "process")] {
            try connection.query("""
                INSERT INTO variants (step_id, actor, config, role, weight, mode, isolation) VALUES (\(connection.placeholders(7)))
                """, [.integer(stepID), .text("echo-c"), .text(config), .text(role), .integer(Int64(weight)), .text(mode), .text(isolation)])
        }
        let store = try Store(location: location)
        #expect(try store.variants(workflow: "typed", step: "grade").allSatisfy { $0.limits == nil }, "migrated: no limits yet")
        try register(store)
        let variants = try store.variants(workflow: "typed", step: "grade")
        #expect(variants.map(\.limits) == [["memory_mb": 256, "cpu_seconds": 10], ["memory_mb": 128], nil, nil])
        #expect(variants.map(\.isolation) == [.process, .inprocess, .process, .process])
    }
}
