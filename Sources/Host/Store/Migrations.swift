/// The store's schema as numbered migrations, applied in order and recorded in
/// `schema_migrations`, so running them again is a no-op and a database written by a
/// newer Wavehost is refused instead of misread.
enum Migrations {
    struct Migration {
        let version: Int
        let name: String
        let sql: String
    }

    /// Every migration this binary knows, oldest first (SQLite dialect).
    static let sqlite: [Migration] = [
        Migration(version: 1, name: "actors, workflows, runs, interactions, events", sql: """
            CREATE TABLE actors (
                name TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE TABLE actor_versions (
                sha256 TEXT PRIMARY KEY,
                actor TEXT NOT NULL REFERENCES actors(name),
                version TEXT NOT NULL,
                path TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'current', 'previous', 'rejected')),
                reason TEXT,
                seen_at INTEGER NOT NULL
            );
            CREATE TABLE workflows (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                environment TEXT NOT NULL CHECK (environment IN ('prod', 'test')),
                definition TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                UNIQUE (name, sha256)
            );
            CREATE TABLE steps (
                id INTEGER PRIMARY KEY,
                workflow_id INTEGER NOT NULL REFERENCES workflows(id),
                name TEXT NOT NULL,
                depends_on TEXT NOT NULL DEFAULT '[]',
                timeout_ms INTEGER NOT NULL,
                retries INTEGER NOT NULL DEFAULT 0,
                UNIQUE (workflow_id, name)
            );
            CREATE TABLE variants (
                id INTEGER PRIMARY KEY,
                step_id INTEGER NOT NULL REFERENCES steps(id),
                actor TEXT NOT NULL,
                config TEXT NOT NULL DEFAULT '{}',
                role TEXT NOT NULL CHECK (role IN ('champion', 'challenger')),
                weight INTEGER NOT NULL CHECK (weight >= 0),
                mode TEXT NOT NULL CHECK (mode IN ('live', 'shadow')),
                isolation TEXT NOT NULL DEFAULT 'process' CHECK (isolation IN ('process', 'inprocess')),
                retired_at INTEGER
            );
            CREATE TABLE runs (
                id INTEGER PRIMARY KEY,
                workflow_id INTEGER NOT NULL REFERENCES workflows(id),
                subject TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
                created_at INTEGER NOT NULL,
                completed_at INTEGER,
                UNIQUE (workflow_id, subject)
            );
            CREATE TABLE interactions (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                step_id INTEGER NOT NULL REFERENCES steps(id),
                variant_id INTEGER REFERENCES variants(id),
                parent_id INTEGER REFERENCES interactions(id),
                actor_sha256 TEXT,
                status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'timed_out')),
                attempt INTEGER NOT NULL DEFAULT 1,
                input BLOB,
                output BLOB,
                error TEXT,
                lease_owner TEXT,
                lease_expires_at INTEGER,
                started_at INTEGER,
                completed_at INTEGER,
                latency_us INTEGER
            );
            CREATE INDEX interactions_by_status ON interactions (status, lease_expires_at);
            CREATE INDEX interactions_by_run ON interactions (run_id, step_id);
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                cause TEXT NOT NULL,
                interaction_id INTEGER REFERENCES interactions(id),
                payload TEXT NOT NULL,
                payload_sha256 TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE TRIGGER events_are_append_only_on_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
            CREATE TRIGGER events_are_append_only_on_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
            """),
    ]

    /// Brings `connection` up to the newest schema this binary knows; returns the
    /// versions applied now (empty when it was already current).
    @discardableResult
    static func migrate(_ connection: SQLiteConnection, migrations: [Migration] = sqlite) throws(StoreError) -> [Int] {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)
            """)
        let known = migrations.last?.version ?? 0
        let current = try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").first?.first?.integer ?? 0
        guard current <= known else {
            throw StoreError(.schemaTooNew, database: connection.path,
                "the schema is at version \(current), newer than this Wavehost knows (\(known)); upgrade Wavehost to use it")
        }
        var applied: [Int] = []
        for migration in migrations where migration.version > current {
            // Each migration and its record commit together, so a crash never half-applies one.
            try connection.transaction { () throws(StoreError) in
                try connection.execute(migration.sql)
                try connection.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%s','now'))",
                                     [.integer(Int64(migration.version)), .text(migration.name)])
            }
            applied.append(migration.version)
        }
        return applied
    }
}
