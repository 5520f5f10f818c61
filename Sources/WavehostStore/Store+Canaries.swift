import WavehostJSON

/// A canary's row: its schedule and the stage it stands at.
extension Store {
    package struct CanaryRow {
        package let id: Int64
        package let variantID: Int64
        package let schedule: [Int]
        package let stage: Int
        package let state: String
        package let stageStartedAt: Int64
    }

    package func startCanary(variantID: Int64, schedule: [Int]) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            _ = try connection.query("""
                INSERT INTO canaries (variant_id, schedule, stage, state, stage_started_at) VALUES (\(connection.placeholders(5)))
                """, [.integer(variantID), .text(JSON.array(schedule.map { .integer($0) }).text), .integer(0), .text("ramping"),
                      .integer(Store.now())])
        }
    }

    package func updateCanary(_ id: Int64, stage: Int, state: String) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            let p = connection.placeholder
            try connection.query("UPDATE canaries SET stage = \(p(1)), state = \(p(2)), stage_started_at = \(p(3)) WHERE id = \(p(4))",
                                 [.integer(Int64(stage)), .text(state), .integer(Store.now()), .integer(id)])
        }
    }

    package func canaries(workflow: String, step: String) throws(StoreError) -> [CanaryRow] {
        let ids = Set(try variants(workflow: workflow, step: step).map(\.id))
        return try withConnection { connection throws(StoreError) in
            try connection.query("SELECT id, variant_id, schedule, stage, state, stage_started_at FROM canaries ORDER BY id").compactMap { row in
                // The schedule was written by startCanary from integers; a row edited by hand is skipped.
                guard let variant = row[1].integer, ids.contains(variant),
                      let schedule = (try? JSON.parse(Array((row[2].text ?? "[]").utf8)))?.arrayValue?.compactMap(\.intValue) else { return nil }
                return CanaryRow(id: row[0].integer ?? 0, variantID: variant, schedule: schedule, stage: Int(row[3].integer ?? 0),
                                 state: row[4].text ?? "", stageStartedAt: row[5].integer ?? 0)
            }
        }
    }
}
