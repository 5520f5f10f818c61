import Foundation
import Testing
@testable import WavehostEngine
import WavehostHash
@testable import WavehostStore

/// The backends the store supports; every test here runs on each, for real.
enum Backend: String, CaseIterable, CustomStringConvertible {
    case sqlite, postgres

    var description: String { rawValue }

    /// A connection to a new, empty database of this kind, and a way to open another.
    func makeDatabase() throws -> (connection: any SQLConnection, reopen: () throws -> any SQLConnection) {
        switch self {
        case .sqlite:
            let path = try TestPlugins.temporaryDirectory() + "/wavehost.db"
            return (try SQLiteConnection(path: path), { try SQLiteConnection(path: path) })
        case .postgres:
            let url = try PostgresServer.makeDatabase()
            return (try PostgresConnection(url: url), { try PostgresConnection(url: url) })
        }
    }

    /// The tables of the current schema.
    func tables(_ connection: any SQLConnection) throws -> [String] {
        let sql = self == .sqlite ? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                                  : "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        return try connection.query(sql).compactMap { $0.first?.text }
    }
}

/// Migrations on a real SQLite file and a real PostgreSQL server.
@Suite struct MigrationTests {
    @Test(arguments: Backend.allCases)
    func migratingTwiceIsANoOp(_ backend: Backend) throws {
        let (connection, reopen) = try backend.makeDatabase()
        #expect(try Migrations.migrate(connection) == connection.migrations.map(\.version))
        #expect(try Migrations.migrate(connection) == [])
        #expect(try Migrations.migrate(reopen()) == [], "a second connection sees it too")
        let tables = try backend.tables(connection)
        for table in ["actor_versions", "actors", "events", "interactions", "runs", "schema_migrations", "steps", "variants", "workflows"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
    }

    @Test func sqliteRunsInWALMode() throws {
        let connection = try SQLiteConnection(path: try TestPlugins.temporaryDirectory() + "/wavehost.db")
        #expect(try connection.query("PRAGMA journal_mode").first?.first?.text == "wal")
    }

    @Test(arguments: Backend.allCases)
    func aNewerSchemaIsRefusedWithAClearMessage(_ backend: Backend) throws {
        let (connection, _) = try backend.makeDatabase()
        try Migrations.migrate(connection)
        try connection.query("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
        #expect {
            try Migrations.migrate(connection)
        } throws: { error in
            let error = error as! StoreError
            return error.code == .schemaTooNew && error.database == connection.database
                && error.message.contains("version 99, newer than this Wavehost knows (\(connection.migrations.last!.version))")
        }
    }

    @Test(arguments: Backend.allCases)
    func aFailingMigrationLeavesNothingBehind(_ backend: Backend) throws {
        let (connection, _) = try backend.makeDatabase()
        let broken = connection.migrations + [Migrations.Migration(version: connection.migrations.last!.version + 1, name: "broken",
                                                                sql: "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;")]
        #expect(throws: StoreError.self) { try Migrations.migrate(connection, migrations: broken) }
        let versions = try connection.query("SELECT version FROM schema_migrations").compactMap { $0.first?.integer }
        #expect(versions == connection.migrations.map { Int64($0.version) }, "every known version committed, the broken one not recorded")
        #expect(try !backend.tables(connection).contains("half"), "no half-applied table")
    }

    /// Versions are given out to changes made side by side (12 before 11 lands): one merged
    /// in below the newest applied is applied too, the others left as they are.
    @Test(arguments: Backend.allCases)
    func aVersionMergedInBelowTheNewestIsAppliedToo(_ backend: Backend) throws {
        let (connection, _) = try backend.makeDatabase()
        let known = connection.migrations, last = connection.migrations.last!.version
        let first = Migrations.Migration(version: last + 1, name: "first", sql: "CREATE TABLE late_a (x INTEGER)")
        let between = Migrations.Migration(version: last + 2, name: "between", sql: "CREATE TABLE late_b (x INTEGER)")
        let third = Migrations.Migration(version: last + 3, name: "third", sql: "CREATE TABLE late_c (x INTEGER)")
        #expect(try Migrations.migrate(connection, migrations: known + [first, third]) == known.map(\.version) + [last + 1, last + 3])
        #expect(try Migrations.migrate(connection, migrations: known + [first, between, third]) == [last + 2])
        #expect(try backend.tables(connection).contains("late_b"))
        #expect(try Migrations.migrate(connection, migrations: known + [first, between, third]) == [])
    }

    @Test(arguments: Backend.allCases)
    func eventsAreAppendOnly(_ backend: Backend) throws {
        let (connection, _) = try backend.makeDatabase()
        try Migrations.migrate(connection)
        try connection.query("""
            INSERT INTO events (kind, cause, payload, payload_sha256, created_at) \
            VALUES ('actor.reloaded', 'test', '{}', \(connection.placeholder(1)), 0)
            """, [.text(ContentHash.sha256(of: Array("{}".utf8)))])
        for statement in ["UPDATE events SET kind = 'forged'", "DELETE FROM events"] {
            #expect {
                try connection.query(statement)
            } throws: { error in
                (error as? StoreError)?.code == .appendOnly
            }
        }
        #expect(try connection.query("SELECT kind FROM events").first?.first?.text == "actor.reloaded")
    }

    @Test(arguments: Backend.allCases)
    func statusesAndRolesAreConstrained(_ backend: Backend) throws {
        let (connection, _) = try backend.makeDatabase()
        try Migrations.migrate(connection)
        try connection.query("INSERT INTO workflows (name, environment, definition, sha256, created_at) VALUES ('w', 'prod', '', 'x', 0)")
        #expect(throws: StoreError.self) {
            try connection.query("INSERT INTO workflows (name, environment, definition, sha256, created_at) VALUES ('w2', 'staging', '', 'y', 0)")
        }
        let workflow = try connection.query("SELECT id FROM workflows").first?.first?.integer ?? 0
        try connection.query("INSERT INTO runs (workflow_id, subject, status, created_at) VALUES (\(workflow), 'posting-1', 'pending', 0)")
        #expect(throws: StoreError.self, "one run per subject") {
            try connection.query("INSERT INTO runs (workflow_id, subject, status, created_at) VALUES (\(workflow), 'posting-1', 'pending', 0)")
        }
    }

    @Test func anUnreachableServerIsAClearErrorWithoutThePassword() {
        #expect {
            try PostgresConnection(url: "postgres://wavehost:s3cret@127.0.0.1:1/nothing?connect_timeout=2")
        } throws: { error in
            let error = error as! StoreError
            return error.code == .unavailable && error.database == "postgres://wavehost:***@127.0.0.1:1/nothing?connect_timeout=2"
                && !error.description.contains("s3cret") && error.message.contains("cannot connect")
        }
    }

    @Test func anUnreachableFileIsAClearError() {
        #expect {
            try SQLiteConnection(path: "/nonexistent/folder/wavehost.db")
        } throws: { error in
            let error = error as! StoreError
            return error.code == .unavailable && error.description.hasPrefix("/nonexistent/folder/wavehost.db: cannot open")
        }
    }
}
