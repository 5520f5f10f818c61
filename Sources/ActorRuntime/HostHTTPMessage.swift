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

/// The wire form of both (frames `httpRequest` and `httpResponse`): a u32 little-endian
/// length, that many bytes of JSON metadata, then the raw body. Bodies stay bytes.
public enum HostHTTPWire {
    public static func encode(_ request: HostHTTPRequest) -> [UInt8] {
        frame(["method": .string(request.method), "url": .string(request.url), "headers": pairs(request.headers),
               "timeout_ms": .integer(Int(request.timeoutMilliseconds))], request.body)
    }

    public static func encode(_ response: HostHTTPResponse) -> [UInt8] {
        frame(["status": .integer(Int(response.status)), "http_status": .integer(Int(response.httpStatus)),
               "headers": pairs(response.headers), "error": response.error.map { .string($0) } ?? .null], response.body)
    }

    public static func request(_ payload: [UInt8]) throws(WorkerWire.WireError) -> HostHTTPRequest {
        let (meta, body) = try split(payload)
        guard let method = meta["method"]?.stringValue, let url = meta["url"]?.stringValue,
              let timeout = meta["timeout_ms"]?.intValue, let headers = headerPairs(meta["headers"])
        else { throw WorkerWire.WireError("malformed httpRequest frame") }
        return HostHTTPRequest(method: method, url: url, headers: headers, body: body,
                               timeoutMilliseconds: UInt32(clamping: timeout))
    }

    public static func response(_ payload: [UInt8]) throws(WorkerWire.WireError) -> HostHTTPResponse {
        let (meta, body) = try split(payload)
        guard let status = meta["status"]?.intValue, let code = meta["http_status"]?.intValue,
              let headers = headerPairs(meta["headers"])
        else { throw WorkerWire.WireError("malformed httpResponse frame") }
        if let error = meta["error"]?.stringValue { return HostHTTPResponse(failure: Int32(clamping: status), error) }
        return HostHTTPResponse(httpStatus: Int32(clamping: code), headers: headers, body: body)
    }

    private static func pairs(_ headers: [(name: String, value: String)]) -> JSON {
        .array(headers.map { .array([.string($0.name), .string($0.value)]) })
    }

    private static func headerPairs(_ json: JSON?) -> [(name: String, value: String)]? {
        guard let items = json?.arrayValue else { return nil }
        var out: [(name: String, value: String)] = []
        for item in items {
            guard let pair = item.arrayValue, pair.count == 2, let name = pair[0].stringValue, let value = pair[1].stringValue
            else { return nil }
            out.append((name, value))
        }
        return out
    }

    private static func frame(_ meta: JSON, _ body: [UInt8]) -> [UInt8] {
        let text = meta.bytes
        var out: [UInt8] = []
        out.reserveCapacity(4 + text.count + body.count)
        withUnsafeBytes(of: UInt32(text.count).littleEndian) { out += $0 }
        return out + text + body
    }

    private static func split(_ payload: [UInt8]) throws(WorkerWire.WireError) -> (JSON, [UInt8]) {
        guard payload.count >= 4 else { throw WorkerWire.WireError("a host-call frame of \(payload.count) bytes is too short") }
        let length = Int(UInt32(payload[0]) | UInt32(payload[1]) << 8 | UInt32(payload[2]) << 16 | UInt32(payload[3]) << 24)
        guard length <= payload.count - 4 else { throw WorkerWire.WireError("a host-call frame's metadata overruns it") }
        let meta: JSON
        do { meta = try JSON.parse(Array(payload[4..<(4 + length)])) } catch {
            throw WorkerWire.WireError("a host-call frame's metadata is not JSON: \(error)")
        }
        return (meta, Array(payload[(4 + length)...]))
    }
}
