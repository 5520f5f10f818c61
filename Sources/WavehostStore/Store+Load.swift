/// What `wavehost load` reads back after a load: its runs' outcomes and latencies.
extension Store {
    /// Of the runs whose subject starts with `subjectPrefix`: completed, failed, and each
    /// finished one's milliseconds from being added to finishing, ascending.
    package func loadOutcome(workflowID: Int64, subjectPrefix: String) throws(StoreError) -> (completed: Int, failed: Int, latencies: [Int64]) {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            var (completed, failed) = (0, 0)
            let latencies = try connection.query("""
                SELECT status, completed_at - created_at FROM runs WHERE workflow_id = \(p(1)) AND subject LIKE \(p(2)) \
                AND status IN ('completed', 'failed') ORDER BY 2
                """, [.integer(workflowID), .text(subjectPrefix + "%")]).compactMap { row -> Int64? in
                if row[0].text == "completed" { completed += 1 } else { failed += 1 }
                return row[1].integer
            }
            return (completed, failed, latencies)
        }
    }
}
