import ActorABI
import WavehostJSON

/// An HTTP request an actor asks the host to make (the ABI's `wh_http_request`).
public struct HostHTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// 0: the host's default.
    public var timeoutMilliseconds: UInt32

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                timeoutMilliseconds: UInt32 = 0)
    {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body && a.timeoutMilliseconds == b.timeoutMilliseconds
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

/// What the host answers: a server's response (`status` WH_OK), or why there is none.
public struct HostHTTPResponse: Sendable {
    /// WH_OK, WH_ERR_UNAVAILABLE (no answer: retryable) or WH_ERR_FAILED (refused).
    public var status: wh_status
    public var httpStatus: Int32
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var error: String?

    public init(httpStatus: Int32, headers: [(name: String, value: String)], body: [UInt8]) {
        status = WH_OK
        self.httpStatus = httpStatus
        self.headers = headers
        self.body = body
    }

    public init(failure status: wh_status, _ error: String) {
        self.status = status
        httpStatus = 0
        headers = []
        body = []
        self.error = error
    }
}

/// The wire form of both (frames `httpRequest` and `httpResponse`), binary and little-endian:
/// a text is a u32 length and its UTF-8 bytes, a header is two texts, the body is the rest.
///   request:  method, url, u32 timeout_ms, u32 header count, headers, body
///   response: i32 wh_status, i32 http_status, u8 1 and an error text (or 0), u32 header count, headers, body
/// No JSON: these frames carry every host call, and a parse costs more than the copy.
public enum HostHTTPWire {
    public static func encode(_ request: HostHTTPRequest) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + request.method.utf8.count + request.url.utf8.count + request.body.count
            + request.headers.reduce(0) { $0 + 8 + $1.name.utf8.count + $1.value.utf8.count })
        text(request.method, to: &out)
        text(request.url, to: &out)
        u32(request.timeoutMilliseconds, to: &out)
        headers(request.headers, to: &out)
        out += request.body
        return out
    }

    public static func encode(_ response: HostHTTPResponse) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + (response.error?.utf8.count ?? 0) + response.body.count
            + response.headers.reduce(0) { $0 + 8 + $1.name.utf8.count + $1.value.utf8.count })
        u32(UInt32(bitPattern: response.status), to: &out)
        u32(UInt32(bitPattern: response.httpStatus), to: &out)
        if let error = response.error {
            out.append(1)
            text(error, to: &out)
        } else {
            out.append(0)
        }
        headers(response.headers, to: &out)
        out += response.body
        return out
    }

    public static func request(_ payload: [UInt8]) throws(WorkerWire.WireError) -> HostHTTPRequest {
        var reader = Reader(payload, "httpRequest")
        let method = try reader.text(), url = try reader.text()
        let timeout = try reader.u32()
        let headers = try reader.headers()
        return HostHTTPRequest(method: method, url: url, headers: headers, body: reader.rest(), timeoutMilliseconds: timeout)
    }

    public static func response(_ payload: [UInt8]) throws(WorkerWire.WireError) -> HostHTTPResponse {
        let frame = try ResponseFrame(payload)
        func text(_ range: Range<Int>) -> String { String(decoding: payload[range], as: UTF8.self) }
        if let error = frame.error { return HostHTTPResponse(failure: frame.status, text(error)) }
        return HostHTTPResponse(httpStatus: frame.httpStatus, headers: frame.headers.map { (text($0.name), text($0.value)) },
                                body: Array(payload[frame.body]))
    }

    static func u32(_ value: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    /// Through its UTF-8 buffer: one copy, where appending a String's view goes byte by byte.
    private static func text(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            u32(UInt32(clamping: bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
    }

    private static func headers(_ headers: [(name: String, value: String)], to out: inout [UInt8]) {
        u32(UInt32(clamping: headers.count), to: &out)
        for (name, value) in headers {
            text(name, to: &out)
            text(value, to: &out)
        }
    }

    /// Reads a payload front to back; any length past its end is a malformed frame.
    struct Reader {
        let bytes: [UInt8]
        let kind: String
        var offset = 0
        init(_ bytes: [UInt8], _ kind: String) { (self.bytes, self.kind) = (bytes, kind) }

        private func malformed(_ what: String) -> WorkerWire.WireError {
            WorkerWire.WireError("a host-call frame (\(kind)) of \(bytes.count) bytes is malformed: \(what) overruns it")
        }

        mutating func byte() throws(WorkerWire.WireError) -> UInt8 {
            guard offset < bytes.count else { throw malformed("a flag at byte \(offset)") }
            offset += 1
            return bytes[offset - 1]
        }

        mutating func u32() throws(WorkerWire.WireError) -> UInt32 {
            guard bytes.count - offset >= 4 else { throw malformed("a number at byte \(offset)") }
            let value = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            offset += 4
            return value
        }

        /// Where the next text's bytes lie.
        mutating func textRange() throws(WorkerWire.WireError) -> Range<Int> {
            let length = Int(try u32())
            guard bytes.count - offset >= length else { throw malformed("a text of \(length) bytes at byte \(offset)") }
            defer { offset += length }
            return offset..<(offset + length)
        }

        mutating func text() throws(WorkerWire.WireError) -> String { string(try textRange()) }

        func string(_ range: Range<Int>) -> String {
            bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
        }

        mutating func headerRanges() throws(WorkerWire.WireError) -> [(name: Range<Int>, value: Range<Int>)] {
            let count = Int(try u32())
            // Each header takes at least 8 bytes: a forged count cannot make a huge array.
            guard count <= (bytes.count - offset) / 8 else { throw malformed("\(count) headers") }
            var out: [(name: Range<Int>, value: Range<Int>)] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append((try textRange(), try textRange())) }
            return out
        }

        mutating func headers() throws(WorkerWire.WireError) -> [(name: String, value: String)] {
            let ranges = try headerRanges()
            var out: [(name: String, value: String)] = []
            out.reserveCapacity(ranges.count)
            for (name, value) in ranges { out.append((string(name), string(value))) }
            return out
        }

        var restRange: Range<Int> { offset..<bytes.count }

        func rest() -> [UInt8] { Array(bytes[restRange]) }
    }
}
