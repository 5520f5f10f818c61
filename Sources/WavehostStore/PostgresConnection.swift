import CLibPQ
import Foundation

/// One libpq connection to PostgreSQL. Not thread-safe: one caller at a time.
final class PostgresConnection: SQLConnection {
    let database: String
    let beginStatement = "BEGIN"
    var migrations: [Migrations.Migration] { Migrations.postgres }
    let now = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint"
    /// The advisory lock key hosts take turns on while migrating ("wavehost" in ASCII).
    static let migrationLock: Int64 = 0x7761_7665_686f_7374
    private let handle: OpaquePointer

    /// Connects to `url` (`postgres://user:password@host:port/name` or a libpq
    /// key=value string). Errors show the URL with its password hidden.
    init(url: String) throws(StoreError) {
        database = Self.redact(url)
        guard let connection = PQconnectdb(url) else {
            throw StoreError(.unavailable, database: database, "cannot connect: out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw StoreError(.unavailable, database: database, "cannot connect: \(message)")
        }
        handle = connection
        try execute("SET client_min_messages = warning")
    }

    deinit { PQfinish(handle) }

    func placeholder(_ index: Int) -> String { "$\(index)" }

    /// Under a session advisory lock: hosts started at once migrate one after the other
    /// (it is released with the connection if this process dies meanwhile).
    func whileMigrating<T>(_ body: (_ inTransaction: Bool) throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("SELECT pg_advisory_lock(\(Self.migrationLock))")
        // A session lock: if unlocking fails the connection is gone, and the lock went with it.
        defer { try? execute("SELECT pg_advisory_unlock(\(Self.migrationLock))") }
        return try body(false)
    }

    /// Subscribes this connection to `channel`'s notifications.
    func listen(_ channel: String) throws(StoreError) {
        try execute("LISTEN \(channel)")
    }

    /// Waits up to `timeout` for a notification on a channel this connection listens on;
    /// true when one (or more) came. Throws `.unavailable` when the connection is gone.
    func waitForNotification(timeout: Duration) throws(StoreError) -> Bool {
        if drainNotifications() { return true }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard descriptor.fd >= 0 else { throw StoreError(.unavailable, database: database, "the listening connection is closed") }
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let ready = poll(&descriptor, 1, max(0, milliseconds))
        guard ready > 0 else { return false }
        guard PQconsumeInput(handle) == 1 else {
            throw StoreError(.unavailable, database: database, "connection lost: \(String(cString: PQerrorMessage(handle)))")
        }
        return drainNotifications()
    }

    private func drainNotifications() -> Bool {
        var any = false
        while let notification = PQnotifies(handle) {
            PQfreemem(notification)
            any = true
        }
        return any
    }

    func execute(_ sql: String) throws(StoreError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    @discardableResult
    func query(_ sql: String, _ bindings: [SQLValue]) throws(StoreError) -> [[SQLValue]] {
        // Text parameters, except bytes, which go binary so no escaping is needed.
        let values: [[UInt8]?] = bindings.map { value in
            switch value {
            case .null: nil
            case .integer(let number): Array(String(number).utf8) + [0]
            case .real(let number): Array("\(number)".utf8) + [0]
            case .text(let text): Array(text.storable.utf8) + [0]
            case .blob(let bytes): bytes
            }
        }
        let formats: [Int32] = bindings.map { if case .blob = $0 { 1 } else { 0 } }
        let lengths: [Int32] = values.map { Int32($0?.count ?? 0) }
        let result = withPointers(values) { pointers in
            PQexecParams(handle, sql, Int32(bindings.count), nil, pointers, lengths, formats, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql)
        return (0..<PQntuples(result)).map { row in
            (0..<PQnfields(result)).map { column in value(result, row, column) }
        }
    }

    /// Inserts `rows` as multi-row `INSERT … VALUES (…), (…)` statements: one round trip
    /// for hundreds of rows instead of one each.
    func insertRows(_ prefix: String, _ rows: [[SQLValue]], suffix: String) throws(StoreError) {
        guard let width = rows.first?.count, width > 0 else { return }
        // A plain insert of many rows goes through COPY: no statement to parse and plan.
        if suffix.isEmpty, rows.count >= 8, prefix.hasPrefix("INSERT INTO ") {
            return try copy(into: String(prefix.dropFirst("INSERT INTO ".count)), rows)
        }
        let rowsPerStatement = max(1, min(1000, 32_000 / width))
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + rowsPerStatement)]
            var tuples: [String] = []
            tuples.reserveCapacity(chunk.count)
            for index in 0..<chunk.count {
                let first = index * width
                tuples.append("(" + (1...width).map { "$\(first + $0)" }.joined(separator: ", ") + ")")
            }
            try query("\(prefix) VALUES \(tuples.joined(separator: ", ")) \(suffix)", chunk.flatMap { $0 })
            start += chunk.count
        }
    }

    /// `COPY target FROM STDIN` in text format; `target` is `table (column, …)`.
    private func copy(into target: String, _ rows: [[SQLValue]]) throws(StoreError) {
        let sql = "COPY \(target) FROM STDIN"
        let started = PQexec(handle, sql)
        defer { PQclear(started) }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            try check(started, sql: sql)
            throw StoreError(.statementFailed, database: database, "COPY did not start (in: \(sql))")
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(rows.count * 128)
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: "\t")) }
                Self.appendCopyText(value, to: &buffer)
            }
            buffer.append(UInt8(ascii: "\n"))
        }
        let sent = buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        _ = PQputCopyEnd(handle, sent == 1 ? nil : "the data could not be sent")
        // The COPY's own result, then nothing: read both so the connection is ready again.
        var failure: StoreError?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            do { try check(result, sql: sql) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// One value in COPY's text format: `\N` for null, backslash escapes, bytea as `\\x…`.
    private static func appendCopyText(_ value: SQLValue, to buffer: inout [UInt8]) {
        switch value {
        case .null: buffer += [UInt8(ascii: "\\"), UInt8(ascii: "N")]
        case .integer(let number): buffer += String(number).utf8
        case .real(let number): buffer += "\(number)".utf8
        case .text(let text):
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\t"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case UInt8(ascii: "\n"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                // COPY refuses NUL: store `\u0000` as text, its backslash escaped for COPY.
                case 0: buffer += [UInt8(ascii: "\\")] + String.nulEscape
                default: buffer.append(byte)
                }
            }
        case .blob(let bytes):
            let digits = Array("0123456789abcdef".utf8)
            buffer += [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")]
            for byte in bytes {
                buffer.append(digits[Int(byte >> 4)])
                buffer.append(digits[Int(byte & 0x0f)])
            }
        }
    }

    private func withPointers<R>(_ values: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let buffers = values.map { $0.map { bytes in
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return buffer
        } }
        defer { buffers.forEach { $0?.deallocate() } }
        return body(buffers.map { $0.map { UnsafePointer($0) } })
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(StoreError) {
        let status = PQresultStatus(result)
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK else { return }
        if PQstatus(handle) != CONNECTION_OK {
            throw StoreError(.unavailable, database: database, "connection lost: \(String(cString: PQerrorMessage(handle)))")
        }
        let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        throw StoreError(message.contains("append-only") ? .appendOnly : .statementFailed, database: database,
                         "\(message) (in: \(sql.prefix(120)))")
    }

    private func value(_ result: OpaquePointer?, _ row: Int32, _ column: Int32) -> SQLValue {
        if PQgetisnull(result, row, column) == 1 { return .null }
        let text = String(cString: PQgetvalue(result, row, column))
        switch PQftype(result, column) {
        case 20, 21, 23: return Int64(text).map(SQLValue.integer) ?? .text(text)   // int8, int2, int4
        case 700, 701: return Double(text).map(SQLValue.real) ?? .text(text)         // float4, float8
        case 17: return .blob(Self.bytes(fromHex: text))                             // bytea, hex text form
        default: return .text(text)
        }
    }

    /// Decodes bytea's text form, `\x` followed by hex digits.
    private static func bytes(fromHex text: String) -> [UInt8] {
        let digits = Array(text.utf8.dropFirst(2))
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }

    /// The URL with any password replaced by `***`.
    static func redact(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url.replacingOccurrences(of: #"password=\S+"#, with: "password=***", options: .regularExpression)
        }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}
