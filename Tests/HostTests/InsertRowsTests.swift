import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// Bulk inserts (COPY on PostgreSQL, multi-row statements on SQLite) keep every value as it was.
@Suite struct InsertRowsTests {
    @Test(arguments: Backend.allCases)
    func awkwardTextAndEveryByteSurviveABulkInsert(_ backend: Backend) throws {
        let (connection, _) = try backend.makeDatabase()
        let bytes = backend == .sqlite ? "BLOB" : "BYTEA"
        try connection.execute("CREATE TABLE bulk (n BIGINT, t TEXT, b \(bytes))")
        let texts = ["tab\there", "line\nbreak\r\n", #"back\slash \N \\x00"#, "ünïcødé ✓ 🚀", "", "end\\"]
        let rows: [[SQLValue]] = (0..<100).map { index in
            [.integer(Int64(index) - 50), index % 7 == 0 ? .null : .text(texts[index % texts.count]),
             .blob((0..<256).map { UInt8(($0 + index) % 256) })]
        }
        try connection.insertRows("INSERT INTO bulk (n, t, b)", rows, suffix: "")
        let back = try connection.query("SELECT n, t, b FROM bulk ORDER BY n")
        #expect(back == rows)
    }
}
