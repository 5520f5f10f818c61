/// BENCHMARK HOOKS: the few reads and writes `tools/bench-src` needs that public API cannot
/// make, kept narrow and `package` (no other module uses them, nothing outside the package
/// can). The measurements themselves live with the benchmarks.
extension Store {
    /// Runs `body` with a function that commits one row, in a transaction of its own, to a
    /// scratch table that is dropped afterwards: what `tools/bench engine` times to print
    /// the floor of a one-commit-per-interaction design.
    package func withScratchTable<T: Sendable>(_ body: (_ commitRow: (Int64) throws(StoreError) -> Void) throws(StoreError) -> T) throws(StoreError) -> T {
        try withConnection { connection throws(StoreError) in
            try connection.execute("CREATE TABLE IF NOT EXISTS floor_commits (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
            // A benchmark's scratch: a drop that fails leaves a table the next run's CREATE reuses.
            defer { try? connection.execute("DROP TABLE floor_commits") }
            let statement = "INSERT INTO floor_commits (id, payload) VALUES (\(connection.placeholders(2)))"
            return try body { row throws(StoreError) in
                _ = try connection.transaction { () throws(StoreError) in
                    try connection.query(statement, [.integer(row), .text("{\"n\":\(row)}")])
                }
            }
        }
    }

    /// When the first interaction served by `actorSHA256` at or after `notBefore` started
    /// (Unix ms): how soon a swapped-in version took traffic (`tools/bench reload`).
    package func firstStart(actorSHA256: String, notBefore: Int64) throws(StoreError) -> Int64? {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            return try connection.query("SELECT MIN(started_at) FROM interactions WHERE actor_sha256 = \(p(1)) AND started_at >= \(p(2))",
                                        [.text(actorSHA256), .integer(notBefore)]).first?.first?.integer
        }
    }

    /// Fills a plain table `name` (made here, dropped first) with `rows` rows from one
    /// statement of the database's own: the source `tools/bench backfill` imports from.
    /// Columns: id (1…rows), event_id (`e<id>`), agent, triggered_by, checked_at (a
    /// timestamp `id` seconds after 2026-11-01), state.
    package func fillBackfillSource(_ name: String, rows: Int) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.execute("DROP TABLE IF EXISTS \(name)")
            if backend == .sqlite {
                try connection.execute("""
                    CREATE TABLE \(name) (id INTEGER PRIMARY KEY, event_id TEXT, agent TEXT, triggered_by TEXT, checked_at TEXT, state TEXT);
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
                    INSERT INTO \(name) SELECT i, 'e' || i, 'agent-' || (i % 500), CASE i % 3 WHEN 0 THEN 'schedule' WHEN 1 THEN 'push' ELSE 'manual' END,
                        strftime('%Y-%m-%dT%H:%M:%SZ', 1793491200 + i, 'unixepoch'), CASE i % 7 WHEN 0 THEN 'failing' ELSE 'passing' END FROM n;
                    """)
            } else {
                try connection.execute("""
                    CREATE TABLE \(name) (id BIGINT PRIMARY KEY, event_id TEXT, agent TEXT, triggered_by TEXT, checked_at TIMESTAMPTZ, state TEXT);
                    INSERT INTO \(name) SELECT i, 'e' || i, 'agent-' || (i % 500), CASE i % 3 WHEN 0 THEN 'schedule' WHEN 1 THEN 'push' ELSE 'manual' END,
                        to_timestamp(1793491200 + i), CASE i % 7 WHEN 0 THEN 'failing' ELSE 'passing' END FROM generate_series(1, \(rows)) AS i;
                    """)
            }
        }
    }
}
