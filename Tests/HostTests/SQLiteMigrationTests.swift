import Foundation
@testable import Host
import Testing

/// Migrations on a real SQLite file.
@Suite struct SQLiteMigrationTests {
    private func database() throws -> SQLiteConnection {
        try SQLiteConnection(path: try TestPlugins.temporaryDirectory() + "/wavehost.db")
    }

    @Test func migratingTwiceIsANoOp() throws {
        let connection = try database()
        #expect(try Migrations.migrate(connection) == [1])
        #expect(try Migrations.migrate(connection) == [])
        #expect(try Migrations.migrate(SQLiteConnection(path: connection.path)) == [], "a second connection sees it too")
        let tables = try connection.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").compactMap { $0.first?.text }
        for table in ["actor_versions", "actors", "events", "interactions", "runs", "schema_migrations", "steps", "variants", "workflows"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try connection.query("PRAGMA journal_mode").first?.first?.text == "wal")
    }

    @Test func aNewerSchemaIsRefusedWithAClearMessage() throws {
        let connection = try database()
        try Migrations.migrate(connection)
        try connection.query("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
        #expect {
            try Migrations.migrate(connection)
        } throws: { error in
            let error = error as! StoreError
            return error.code == .schemaTooNew && error.database == connection.path
                && error.message.contains("version 99, newer than this Wavehost knows (1)")
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let connection = try database()
        let broken = Migrations.sqlite + [Migrations.Migration(version: 2, name: "broken",
                                                                sql: "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;")]
        #expect(throws: StoreError.self) { try Migrations.migrate(connection, migrations: broken) }
        let versions = try connection.query("SELECT version FROM schema_migrations").compactMap { $0.first?.integer }
        #expect(versions == [1], "version 1 committed, version 2 not recorded")
        #expect(try connection.query("SELECT name FROM sqlite_master WHERE name = 'half'").isEmpty, "no half-applied table")
    }

    @Test func eventsAreAppendOnly() throws {
        let connection = try database()
        try Migrations.migrate(connection)
        try connection.query("""
            INSERT INTO events (kind, cause, payload, payload_sha256, created_at) VALUES ('actor.reloaded', 'test', '{}', ?, 0)
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

    @Test func statusesAndRolesAreConstrained() throws {
        let connection = try database()
        try Migrations.migrate(connection)
        try connection.query("INSERT INTO workflows (name, environment, definition, sha256, created_at) VALUES ('w', 'prod', '', 'x', 0)")
        #expect(throws: StoreError.self) {
            try connection.query("INSERT INTO workflows (name, environment, definition, sha256, created_at) VALUES ('w2', 'staging', '', 'y', 0)")
        }
        try connection.query("INSERT INTO runs (workflow_id, subject, status, created_at) VALUES (1, 'posting-1', 'pending', 0)")
        #expect(throws: StoreError.self, "one run per subject") {
            try connection.query("INSERT INTO runs (workflow_id, subject, status, created_at) VALUES (1, 'posting-1', 'pending', 0)")
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
