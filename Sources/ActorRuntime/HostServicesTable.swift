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
    /// Makes an HTTP request for the plugin (in the host: checked against the grant; in a
    /// worker: sent to the host). Called on the plugin's thread, which it blocks.
    public typealias HTTPHandler = @Sendable (HostHTTPRequest) -> HostHTTPResponse

    private let log: LogSink
    private let http: HTTPHandler
    let table: UnsafeMutablePointer<wh_host_services>

    /// `abiVersion` is the version negotiated with the plugin. Without `http`, the
    /// service is offered and refuses every request, saying the host grants no network.
    init(abiVersion: UInt32, log: @escaping LogSink, http: HTTPHandler? = nil) {
        self.log = log
        self.http = http ?? { _ in HostHTTPResponse(failure: WH_ERR_FAILED, "this host makes no HTTP requests for this actor") }
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
    fileprivate func perform(_ request: HostHTTPRequest) -> HostHTTPResponse { http(request) }
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
    let answer: HostHTTPResponse
    if let request, request.pointee.struct_size >= UInt32(MemoryLayout<wh_http_request>.size) {
        let r = request.pointee
        var headers: [(name: String, value: String)] = []
        for index in 0..<(r.headers == nil ? 0 : r.header_count) {
            let header = r.headers[index]
            headers.append((text(header.name, header.name_length), text(header.value, header.value_length)))
        }
        let body = r.body == nil ? [] : Array(UnsafeBufferPointer(start: r.body, count: r.body_length))
        answer = services.perform(HostHTTPRequest(method: text(r.method, r.method_length), url: text(r.url, r.url_length),
                                                  headers: headers, body: body, timeoutMilliseconds: r.timeout_ms))
    } else {
        answer = HostHTTPResponse(failure: WH_ERR_FAILED, "the request is NULL or its struct_size is too small")
    }
    let storage = ResponseStorage(answer)
    let size = response.pointee.struct_size
    response.pointee = wh_http_response(
        struct_size: size, status: answer.httpStatus,
        headers: answer.headers.isEmpty ? nil : UnsafePointer(storage.headers.baseAddress), header_count: answer.headers.count,
        body: storage.body, body_length: answer.body.count,
        error: storage.error,
        error_length: answer.error?.utf8.count ?? 0,
        release_token: Unmanaged.passRetained(storage).toOpaque())
    return answer.status
}

private func hostHTTPRelease(_ context: UnsafeMutableRawPointer?, _ response: UnsafeMutablePointer<wh_http_response>?) {
    guard let response, let token = response.pointee.release_token else { return }
    Unmanaged<ResponseStorage>.fromOpaque(token).release()
    let size = response.pointee.struct_size
    response.pointee = wh_http_response()
    response.pointee.struct_size = size
}
