import WavehostJSON

/// Human-review items: a person decides between champion and challenger.
extension Store {
    /// Opens a human-review item: a person decides between champion and challenger.
    public func requestReview(workflow: String, step: String, reason: String, evidence: JSON) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            _ = try connection.query("""
                INSERT INTO reviews (workflow, step, reason, evidence, created_at) VALUES (\(connection.placeholders(5)))
                """, [.text(workflow), .text(step), .text(reason), .text(evidence.text), .integer(Store.now())])
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
