import ActorABI

/// The `wh_host_services` table handed to one instance, and what it points at.
/// Lives at least as long as the instance (the instance holds it).
///
/// `@unchecked Sendable` because of `table`, a C pointer to memory filled in once by `init`
/// and freed in `deinit`: the plugin only reads it, from any thread; its callbacks reach
/// `log` and `http`, which are `Sendable`.
public final class HostServicesTable: @unchecked Sendable {
    /// Receives the plugin's log messages; called from any thread the plugin logs on.
    public typealias LogSink = @Sendable (wh_log_level, String) -> Void
    /// Makes an HTTP request for the plugin in the host (checked against the grant). Called
    /// on the plugin's thread, which it blocks.
    public typealias HTTPHandler = @Sendable (HostHTTPRequest) -> HostHTTPResponse
    /// Sends a request frame to the host and answers its response frame (in a worker).
    public typealias HTTPRelay = @Sendable (_ frame: [UInt8]) -> HostHTTPWire.ResponseFrame

    /// Where the plugin's HTTP requests go.
    public enum HTTPService: Sendable {
        /// In the host: the request as Swift values, made by the host's service.
        case direct(HTTPHandler)
        /// In a worker: the request's frame (at most `limit` bytes; a larger one is refused
        /// here), relayed to the host, and the host's answer handed to the plugin in place.
        case relayed(limit: UInt64, HTTPRelay)
    }

    private let log: LogSink
    fileprivate let http: HTTPService
    let table: UnsafeMutablePointer<wh_host_services>

    /// `abiVersion` is the version negotiated with the plugin. Without `http`, the
    /// service is offered and refuses every request, saying the host grants no network.
    init(abiVersion: UInt32, log: @escaping LogSink, http: HTTPService? = nil) {
        self.log = log
        self.http = http ?? .direct { _ in HostHTTPResponse(failure: WH_ERR_FAILED, "this host makes no HTTP requests for this actor") }
        table = .allocate(capacity: 1)
        table.initialize(to: wh_host_services(
            struct_size: UInt32(MemoryLayout<wh_host_services>.size),
            abi_version: abiVersion,
            context: nil,
            log: hostLog,
            http: hostHTTP,
            http_release: hostHTTPRelease
        ))
        table.pointee.context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { table.deallocate() }

    fileprivate func forward(_ level: wh_log_level, _ message: String) { log(level, message) }
}

private func hostLog(_ context: UnsafeMutableRawPointer?, _ level: wh_log_level,
                     _ message: UnsafePointer<CChar>?, _ length: Int)
{
    guard let context, let message else { return }
    let services = Unmanaged<HostServicesTable>.fromOpaque(context).takeUnretainedValue()
    services.forward(level, text(message, length))
}

private func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return UnsafeRawPointer(pointer).withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
}

/// The buffers one response points at: the host's, until `http_release`. One allocation
/// holds every header's name and value, the error and the body, back to back (a response
/// crosses here on every host call: one buffer, not one per string).
private final class ResponseStorage {
    let headers: UnsafeMutableBufferPointer<wh_http_header>
    let bytes: UnsafeMutableRawBufferPointer
    private(set) var body: UnsafePointer<UInt8>?
    private(set) var error: UnsafePointer<CChar>?

    init(_ response: HostHTTPResponse) {
        let texts = response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count } + (response.error?.utf8.count ?? 0)
        bytes = .allocate(byteCount: max(1, texts + response.body.count), alignment: 8)
        headers = .allocate(capacity: max(1, response.headers.count))
        var offset = 0
        func place(_ text: String) -> (UnsafePointer<CChar>?, Int) {
            var text = text
            let start = bytes.baseAddress! + offset
            let count = text.withUTF8 { utf8 in
                if !utf8.isEmpty { start.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
                return utf8.count
            }
            offset += count
            return (UnsafePointer(start.assumingMemoryBound(to: CChar.self)), count)
        }
        for (index, header) in response.headers.enumerated() {
            let (name, value) = (place(header.name), place(header.value))
            headers[index] = wh_http_header(name: name.0, name_length: name.1, value: value.0, value_length: value.1)
        }
        if let text = response.error { error = place(text).0 }
        if !response.body.isEmpty {
            let start = bytes.baseAddress! + offset
            response.body.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            body = UnsafePointer(start.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The host's answer frame as it came: one copy of its payload, the C headers pointing into it.
    init(_ frame: HostHTTPWire.ResponseFrame) {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, frame.payload.count), alignment: 8)
        frame.payload.withUnsafeBytes { bytes.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.bytes = bytes
        let headers = UnsafeMutableBufferPointer<wh_http_header>.allocate(capacity: max(1, frame.headers.count))
        self.headers = headers
        let base = bytes.baseAddress!
        func text(_ range: Range<Int>) -> UnsafePointer<CChar> { UnsafePointer(base.advanced(by: range.lowerBound).assumingMemoryBound(to: CChar.self)) }
        for (index, header) in frame.headers.enumerated() {
            headers[index] = wh_http_header(name: text(header.name), name_length: header.name.count,
                                            value: text(header.value), value_length: header.value.count)
        }
        error = frame.error.map(text)
        body = frame.body.isEmpty ? nil : UnsafePointer(base.advanced(by: frame.body.lowerBound).assumingMemoryBound(to: UInt8.self))
    }

    deinit {
        headers.deallocate()
        bytes.deallocate()
    }
}

private func hostHTTP(_ context: UnsafeMutableRawPointer?, _ request: UnsafePointer<wh_http_request>?,
                      _ response: UnsafeMutablePointer<wh_http_response>?) -> wh_status
{
    guard let context, let response, response.pointee.struct_size >= UInt32(MemoryLayout<wh_http_response>.size) else {
        return WH_ERR_INTERNAL
    }
    let services = Unmanaged<HostServicesTable>.fromOpaque(context).takeUnretainedValue()
    guard let request, request.pointee.struct_size >= UInt32(MemoryLayout<wh_http_request>.size) else {
        return answer(HostHTTPResponse(failure: WH_ERR_FAILED, "the request is NULL or its struct_size is too small"), in: response)
    }
    let r = request.pointee
    switch services.http {
    case .direct(let perform):
        var headers: [(name: String, value: String)] = []
        for index in 0..<(r.headers == nil ? 0 : r.header_count) {
            let header = r.headers[index]
            headers.append((text(header.name, header.name_length), text(header.value, header.value_length)))
        }
        let body = r.body == nil ? [] : Array(UnsafeBufferPointer(start: r.body, count: r.body_length))
        return answer(perform(HostHTTPRequest(method: text(r.method, r.method_length), url: text(r.url, r.url_length),
                                              headers: headers, body: body, timeoutMilliseconds: r.timeout_ms)), in: response)
    case .relayed(let limit, let relay):
        let answer = HostHTTPWire.encode(r, limit: limit).map(relay) ?? HostHTTPWire.ResponseFrame(failure: WH_ERR_FAILED,
            "\(text(r.method, min(r.method_length, 16))) \(text(r.url, min(r.url_length, 256))) refused: the request "
            + "exceeds the limit of \(limit) bytes (limits: {output_bytes: N})")
        fill(response, from: ResponseStorage(answer), status: answer.error == nil ? answer.httpStatus : 0, headerCount: answer.headers.count,
             bodyLength: answer.body.count, errorLength: answer.error?.count ?? 0)
        return answer.status
    }
}

/// Fills `response` with a response made in this process.
private func answer(_ answer: HostHTTPResponse, in response: UnsafeMutablePointer<wh_http_response>) -> wh_status {
    fill(response, from: ResponseStorage(answer), status: answer.httpStatus, headerCount: answer.headers.count,
         bodyLength: answer.body.count, errorLength: answer.error?.utf8.count ?? 0)
    return answer.status
}

/// Points `response` into `storage`, which the plugin's `http_release` frees.
private func fill(_ response: UnsafeMutablePointer<wh_http_response>, from storage: ResponseStorage, status: Int32, headerCount: Int,
                  bodyLength: Int, errorLength: Int)
{
    response.pointee = wh_http_response(
        struct_size: response.pointee.struct_size, status: status,
        headers: headerCount == 0 ? nil : UnsafePointer(storage.headers.baseAddress), header_count: headerCount,
        body: storage.body, body_length: bodyLength, error: storage.error, error_length: errorLength,
        release_token: Unmanaged.passRetained(storage).toOpaque())
}

private func hostHTTPRelease(_ context: UnsafeMutableRawPointer?, _ response: UnsafeMutablePointer<wh_http_response>?) {
    guard let response, let token = response.pointee.release_token else { return }
    Unmanaged<ResponseStorage>.fromOpaque(token).release()
    let size = response.pointee.struct_size
    response.pointee = wh_http_response()
    response.pointee.struct_size = size
}
