import Foundation

/// The store's schema as numbered migrations, applied in order and recorded in
/// `schema_migrations`, so running them again is a no-op and a database written by a
/// newer Wavehost is refused instead of misread.
enum Migrations {
    struct Migration {
        let version: Int
        let name: String
        let sql: String
    }

    /// Every migration this binary knows, oldest first, for each backend. The schema is
    /// written once; ``Dialect`` fills in what differs.
    static let sqlite = all(.sqlite)
    static let postgres = all(.postgres)

    enum Dialect {
        case sqlite, postgres

        /// Replaces `{id}`, `{int}`, `{bytes}` and `{append_only events}` with this dialect's forms.
        func render(_ template: String) -> String {
            var sql = template
            for (token, sqlite, postgres) in [
                ("{id}", "INTEGER PRIMARY KEY", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
                ("{int}", "INTEGER", "BIGINT"),
                ("{bytes}", "BLOB", "BYTEA"),
            ] { sql = sql.replacingOccurrences(of: token, with: self == .sqlite ? sqlite : postgres) }
            return sql.replacingOccurrences(of: "{append_only events}", with: appendOnly("events"))
        }

        /// Triggers that refuse every UPDATE and DELETE of `table`.
        private func appendOnly(_ table: String) -> String {
            switch self {
            case .sqlite:
                return """
                    CREATE TRIGGER \(table)_are_append_only_on_update BEFORE UPDATE ON \(table)
                        BEGIN SELECT RAISE(ABORT, '\(table) are append-only'); END;
                    CREATE TRIGGER \(table)_are_append_only_on_delete BEFORE DELETE ON \(table)
                        BEGIN SELECT RAISE(ABORT, '\(table) are append-only'); END;
                    """
            case .postgres:
                return """
                    CREATE FUNCTION \(table)_are_append_only() RETURNS trigger LANGUAGE plpgsql AS
                        $$ BEGIN RAISE EXCEPTION '\(table) are append-only'; END $$;
                    CREATE TRIGGER \(table)_are_append_only BEFORE UPDATE OR DELETE ON \(table)
                        FOR EACH ROW EXECUTE FUNCTION \(table)_are_append_only();
                    """
            }
        }
    }

    private static func all(_ dialect: Dialect) -> [Migration] { [
        Migration(version: 1, name: "actors, workflows, runs, interactions, events", sql: dialect.render("""
            CREATE TABLE actors (
                name TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                created_at {int} NOT NULL
            );
            CREATE TABLE actor_versions (
                sha256 TEXT PRIMARY KEY,
                actor TEXT NOT NULL REFERENCES actors(name),
                version TEXT NOT NULL,
                path TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'current', 'previous', 'rejected')),
                reason TEXT,
                seen_at {int} NOT NULL
            );
            CREATE TABLE workflows (
                id {id},
                name TEXT NOT NULL,
                environment TEXT NOT NULL CHECK (environment IN ('prod', 'test')),
                definition TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                created_at {int} NOT NULL,
                UNIQUE (name, sha256)
            );
            CREATE TABLE steps (
                id {id},
                workflow_id {int} NOT NULL REFERENCES workflows(id),
                name TEXT NOT NULL,
                depends_on TEXT NOT NULL DEFAULT '[]',
                timeout_ms {int} NOT NULL,
                retries {int} NOT NULL DEFAULT 0,
                UNIQUE (workflow_id, name)
            );
            CREATE TABLE variants (
                id {id},
                step_id {int} NOT NULL REFERENCES steps(id),
                actor TEXT NOT NULL,
                config TEXT NOT NULL DEFAULT '{}',
                role TEXT NOT NULL CHECK (role IN ('champion', 'challenger')),
                weight {int} NOT NULL CHECK (weight >= 0),
                mode TEXT NOT NULL CHECK (mode IN ('live', 'shadow')),
                isolation TEXT NOT NULL DEFAULT 'process' CHECK (isolation IN ('process', 'inprocess')),
                retired_at {int}
            );
            CREATE TABLE runs (
                id {id},
                workflow_id {int} NOT NULL REFERENCES workflows(id),
                subject TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
                created_at {int} NOT NULL,
                completed_at {int},
                UNIQUE (workflow_id, subject)
            );
            CREATE TABLE interactions (
                id {id},
                run_id {int} NOT NULL REFERENCES runs(id),
                step_id {int} NOT NULL REFERENCES steps(id),
                variant_id {int} REFERENCES variants(id),
                parent_id {int} REFERENCES interactions(id),
                actor_sha256 TEXT,
                status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'timed_out')),
                attempt {int} NOT NULL DEFAULT 1,
                input {bytes},
                output {bytes},
                error TEXT,
                lease_owner TEXT,
                lease_expires_at {int},
                started_at {int},
                completed_at {int},
                latency_us {int}
            );
            CREATE INDEX interactions_by_status ON interactions (status, lease_expires_at);
            CREATE INDEX interactions_by_run ON interactions (run_id, step_id);
            CREATE TABLE events (
                id {id},
                kind TEXT NOT NULL,
                cause TEXT NOT NULL,
                interaction_id {int} REFERENCES interactions(id),
                payload TEXT NOT NULL,
                payload_sha256 TEXT NOT NULL,
                created_at {int} NOT NULL
            );
            {append_only events}
            """)),
    ] }

    /// Brings `connection` up to the newest schema this binary knows; returns the
    /// versions applied now (empty when it was already current).
    @discardableResult
    static func migrate(_ connection: some SQLConnection, migrations: [Migration]? = nil) throws(StoreError) -> [Int] {
        let migrations = migrations ?? connection.migrations
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
            """)
        let known = migrations.last?.version ?? 0
        let current = try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").first?.first?.integer ?? 0
        guard current <= known else {
            throw StoreError(.schemaTooNew, database: connection.database,
                "the schema is at version \(current), newer than this Wavehost knows (\(known)); upgrade Wavehost to use it")
        }
        var applied: [Int] = []
        for migration in migrations where migration.version > current {
            // Each migration and its record commit together, so a crash never half-applies one.
            try connection.transaction { () throws(StoreError) in
                try connection.execute(migration.sql)
                try connection.query("""
                    INSERT INTO schema_migrations (version, name, applied_at) \
                    VALUES (\(connection.placeholder(1)), \(connection.placeholder(2)), \(connection.placeholder(3)))
                    """, [.integer(Int64(migration.version)), .text(migration.name), .integer(unixTime())])
            }
            applied.append(migration.version)
        }
        return applied
    }

    static func unixTime() -> Int64 { Int64(time(nil)) }
}
