import WavehostJSON

/// Queries behind the web dashboard's step page and review actions (module
/// WavehostDashboard): aggregates the `status` and `compare` queries do not give.
/// Every query reads the newest version of the workflow, as `variantRecords` does.
extension Store {
    /// Finished interactions of one variant in one time bucket.
    public struct OutcomeBucket: Sendable, Equatable {
        public let variantID: Int64
        /// The bucket's index from `since`: it covers `since + index × width` onwards.
        public let index: Int
        public let finished: Int
        public let completed: Int
    }

    /// Finished interactions of `step`, counted per variant (live and shadow) and per
    /// bucket of `width` ms of their start time from `since`. Aggregated in SQL: a step may
    /// have millions of interactions.
    public func outcomeBuckets(workflow: String, step: String, since: Int64, width: Int64) throws(StoreError) -> [OutcomeBucket] {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            return try connection.query("""
                SELECT i.variant_id, (i.started_at - \(p(3))) / \(p(4)) AS bucket, COUNT(*), \
                COALESCE(SUM(CASE WHEN i.status = 'completed' THEN 1 ELSE 0 END), 0) \
                FROM interactions i JOIN steps s ON s.id = i.step_id \
                WHERE s.name = \(p(1)) AND s.workflow_id = (SELECT MAX(id) FROM workflows WHERE name = \(p(2))) \
                AND i.status IN ('completed', 'failed', 'timed_out') AND i.variant_id IS NOT NULL AND i.started_at >= \(p(3)) \
                GROUP BY i.variant_id, bucket ORDER BY i.variant_id, bucket
                """, [.text(step), .text(workflow), .integer(since), .integer(max(width, 1))]).compactMap { row in
                guard let variant = row[0].integer else { return nil }
                return OutcomeBucket(variantID: variant, index: Self.count(row[1]), finished: Self.count(row[2]), completed: Self.count(row[3]))
            }
        }
    }

    /// The first and last start (Unix ms) of `step`'s finished interactions since `since`.
    public func startSpan(workflow: String, step: String, since: Int64) throws(StoreError) -> (first: Int64, last: Int64)? {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            let row = try connection.query("""
                SELECT MIN(i.started_at), MAX(i.started_at) FROM interactions i JOIN steps s ON s.id = i.step_id \
                WHERE s.name = \(p(1)) AND s.workflow_id = (SELECT MAX(id) FROM workflows WHERE name = \(p(2))) \
                AND i.status IN ('completed', 'failed', 'timed_out') AND i.started_at >= \(p(3))
                """, [.text(step), .text(workflow), .integer(since)]).first
            guard let first = row?[0].integer, let last = row?[1].integer else { return nil }
            return (first, last)
        }
    }

    /// The latencies (µs) of each variant's most recent `limit` completed interactions of
    /// `step`: enough for a distribution, bounded for a page that refreshes every few seconds.
    public func latencySamples(workflow: String, step: String, since: Int64, limit: Int = 5000) throws(StoreError) -> [Int64: [Int64]] {
        let ids = try variants(workflow: workflow, step: step).map(\.id)
        return try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            var samples: [Int64: [Int64]] = [:]
            for id in ids {
                let values = try connection.query("""
                    SELECT latency_us FROM interactions WHERE variant_id = \(p(1)) AND status = 'completed' \
                    AND latency_us IS NOT NULL AND started_at >= \(p(2)) ORDER BY id DESC LIMIT \(p(3))
                    """, [.integer(id), .integer(since), .integer(Int64(limit))]).compactMap { $0[0].integer }
                if !values.isEmpty { samples[id] = values }
            }
            return samples
        }
    }

    /// Steps of the newest version of `workflow` that run after `step`: where a grader of
    /// its outputs would be.
    public func stepsAfter(workflow: String, step: String) throws(StoreError) -> [String] {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                SELECT name, depends_on FROM steps WHERE workflow_id = (SELECT MAX(id) FROM workflows WHERE name = \(connection.placeholder(1))) \
                ORDER BY id
                """, [.text(workflow)]).compactMap { row in
                // `depends_on` is written by registerWorkflow from a JSON array; a row edited by hand is skipped.
                guard let name = row[0].text,
                      let after = (try? JSON.parse(row[1].text ?? "[]"))?.arrayValue?.compactMap(\.stringValue),
                      after.contains(step) else { return nil }
                return name
            }
        }
    }

    /// A canary ramp as the dashboard shows it.
    public struct CanaryRamp: Sendable {
        public let id: Int64
        public let variantID: Int64
        /// The challenger's share at each stage, in percent.
        public let schedule: [Int]
        /// The index into `schedule` of the stage it is at (or ended at).
        public let stage: Int
        /// `ramping`, `done` or `rolled_back`.
        public let state: String
        public let stageStartedAt: Int64
    }

    /// The canary ramps of `step`'s variants, oldest first.
    public func canaryRamps(workflow: String, step: String) throws(StoreError) -> [CanaryRamp] {
        try canaries(workflow: workflow, step: step).map {
            CanaryRamp(id: $0.id, variantID: $0.variantID, schedule: $0.schedule, stage: $0.stage, state: $0.state,
                       stageStartedAt: $0.stageStartedAt)
        }
    }

    /// A human-review item (table `reviews`).
    public struct ReviewItem: Sendable {
        public let id: Int64
        public let workflow: String
        public let step: String
        public let reason: String
        /// The verdict's numbers as JSON text (`Promotion.evidence`).
        public let evidence: String
        public let createdAt: Int64
        public let resolvedAt: Int64?
    }

    /// Review items, open ones first, then the `resolvedLimit` most recently resolved.
    public func reviewItems(resolvedLimit: Int = 20) throws(StoreError) -> [ReviewItem] {
        try withConnection { connection throws(StoreError) in
            let columns = "id, workflow, step, reason, evidence, created_at, resolved_at"
            let open = try connection.query("SELECT \(columns) FROM reviews WHERE resolved_at IS NULL ORDER BY id")
            let resolved = try connection.query("""
                SELECT \(columns) FROM reviews WHERE resolved_at IS NOT NULL ORDER BY resolved_at DESC, id DESC LIMIT \(connection.placeholder(1))
                """, [.integer(Int64(resolvedLimit))])
            return (open + resolved).map(Self.review)
        }
    }

    public enum ReviewResolution: Sendable, Equatable {
        case resolved(at: Int64)
        case notFound
        case alreadyResolved(at: Int64)
    }

    /// Resolves review `id` with a person's decision: the review is marked resolved and an
    /// event (`review_accepted` or `review_rejected`) records who decided and why, in one
    /// transaction, so a decision is never half recorded. Only an open review can be
    /// resolved, once.
    public func resolveReview(_ id: Int64, accepted: Bool, by person: String, why: String) throws(StoreError) -> ReviewResolution {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) -> ReviewResolution in
                let p = connection.placeholder
                guard let row = try connection.query("""
                    SELECT id, workflow, step, reason, evidence, created_at, resolved_at FROM reviews WHERE id = \(p(1))
                    """, [.integer(id)]).first else { return .notFound }
                let review = Self.review(row)
                if let at = review.resolvedAt { return .alreadyResolved(at: at) }
                let now = Store.now()
                // The guard on resolved_at keeps a concurrent second decision from landing too.
                try connection.query("UPDATE reviews SET resolved_at = \(p(1)) WHERE id = \(p(2)) AND resolved_at IS NULL",
                                     [.integer(now), .integer(id)])
                let decision = accepted ? "accepted" : "rejected"
                // Evidence a test or a person stored as plain text is kept as text in the event.
                let evidence = (try? JSON.parse(review.evidence)) ?? .string(review.evidence)
                try insertEvents([EventRecord(
                    kind: accepted ? "review_accepted" : "review_rejected",
                    cause: "\(decision) by \(person): \(why)", interactionID: nil,
                    payload: JSON.object([
                        ("review", .integer(id)), ("workflow", .string(review.workflow)), ("step", .string(review.step)),
                        ("decision", .string(decision)), ("by", .string(person)), ("why", .string(why)),
                        ("reason", .string(review.reason)), ("evidence", evidence),
                    ]).text)], now: now, connection)
                return .resolved(at: now)
            }
        }
    }

    private static func review(_ row: [SQLValue]) -> ReviewItem {
        ReviewItem(id: row[0].integer ?? 0, workflow: row[1].text ?? "", step: row[2].text ?? "", reason: row[3].text ?? "",
                   evidence: row[4].text ?? "{}", createdAt: row[5].integer ?? 0, resolvedAt: row[6].integer)
    }

    /// A count: PostgreSQL gives SUM over BIGINT as NUMERIC, which arrives as text.
    static func count(_ value: SQLValue) -> Int {
        switch value {
        case .integer(let number): Int(number)
        case .text(let text): Int(text) ?? 0
        default: 0
        }
    }
}

extension Store {
    /// A person's decision on a review, as its event recorded it.
    public struct ReviewDecision: Sendable {
        public let review: Int64
        public let decision: String
        public let by: String
        public let why: String
        public let at: Int64
    }

    /// The decisions recorded for reviews (events `review_accepted` and `review_rejected`),
    /// newest first, at most `limit`.
    public func reviewDecisions(limit: Int = 100) throws(StoreError) -> [ReviewDecision] {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                SELECT payload, created_at FROM events WHERE kind IN ('review_accepted', 'review_rejected') \
                ORDER BY id DESC LIMIT \(connection.placeholder(1))
                """, [.integer(Int64(limit))]).compactMap { row in
                // Only review events are wanted here; a payload that is not one is skipped.
                guard let payload = try? JSON.parse(row[0].text ?? ""), let review = payload["review"]?.intValue else { return nil }
                return ReviewDecision(review: Int64(review), decision: payload["decision"]?.stringValue ?? "",
                                      by: payload["by"]?.stringValue ?? "", why: payload["why"]?.stringValue ?? "", at: row[1].integer ?? 0)
            }
        }
    }
}
