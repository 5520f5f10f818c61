/// Actor versions as hot reload and pinning see them.
extension Store {
    /// One version of an actor the store has seen.
    public struct ActorVersion: Sendable {
        public let actor: String
        public let sha256: String
        public let version: String
        public let path: String
        /// `current`, `previous`, `pending` or `rejected`.
        public let state: String
        public let reason: String?
        public let seenAt: Int64
        public let approved: Bool
    }

    /// Approves `sha256` for production workflows that pin their actors.
    public func approve(_ sha256: String, note: String?) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                INSERT INTO approvals (sha256, note, approved_at) VALUES (\(connection.placeholders(3))) \
                ON CONFLICT (sha256) DO UPDATE SET note = excluded.note
                """, [.text(sha256), note.map(SQLValue.text) ?? .null, .integer(Store.now())])
        }
    }

    public func approvedHashes() throws(StoreError) -> Set<String> {
        try withConnection { connection throws(StoreError) in
            Set(try connection.query("SELECT sha256 FROM approvals").compactMap { $0.first?.text })
        }
    }

    /// Every version of every actor, newest first within each actor.
    public func actorVersions() throws(StoreError) -> [ActorVersion] {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                SELECT v.actor, v.sha256, v.version, v.path, v.state, v.reason, v.seen_at, a.sha256 FROM actor_versions v \
                LEFT JOIN approvals a ON a.sha256 = v.sha256 ORDER BY v.actor, v.seen_at DESC
                """).map { row in
                ActorVersion(actor: row[0].text ?? "", sha256: row[1].text ?? "", version: row[2].text ?? "", path: row[3].text ?? "",
                             state: row[4].text ?? "", reason: row[5].text, seenAt: row[6].integer ?? 0, approved: row[7] != .null)
            }
        }
    }
}

extension Store {
    /// When the first interaction served by `actorSHA256` at or after `notBefore` started
    /// (Unix ms): how soon a swapped-in version took traffic.
    public func firstStart(actorSHA256: String, notBefore: Int64) throws(StoreError) -> Int64? {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            return try connection.query("SELECT MIN(started_at) FROM interactions WHERE actor_sha256 = \(p(1)) AND started_at >= \(p(2))",
                                        [.text(actorSHA256), .integer(notBefore)]).first?.first?.integer
        }
    }
}
