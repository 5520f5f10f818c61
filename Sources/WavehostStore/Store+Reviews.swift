import WavehostJSON

/// Human-review items: a person decides between champion and challenger.
extension Store {
    /// Opens a human-review item: a person decides between champion and challenger.
    /// Returns its id, read from the insert itself (another writer may open one meanwhile).
    @discardableResult
    public func requestReview(workflow: String, step: String, reason: String, evidence: JSON) throws(StoreError) -> Int64 {
        try withConnection { connection throws(StoreError) in
            try connection.query("""
                INSERT INTO reviews (workflow, step, reason, evidence, created_at) VALUES (\(connection.placeholders(5))) RETURNING id
                """, [.text(workflow), .text(step), .text(reason), .text(evidence.text), .integer(Store.now())]).first?.first?.integer ?? 0
        }
    }

    /// Open review items of `workflow`: (step, reason).
    public func openReviews(workflow: String) throws(StoreError) -> [(step: String, reason: String)] {
        try withConnection { connection throws(StoreError) in
            try connection.query("SELECT step, reason FROM reviews WHERE workflow = \(connection.placeholder(1)) AND resolved_at IS NULL ORDER BY id",
                                 [.text(workflow)]).map { ($0[0].text ?? "", $0[1].text ?? "") }
        }
    }
}
