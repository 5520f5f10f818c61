/// The services the host offers an actor instance (the ABI's `wh_host_services`).
/// Valid for the instance's lifetime; safe to use from any thread.
///
/// `@unchecked Sendable` because it wraps a C pointer, immutable here: the table it points
/// at is the host's, read-only to the actor and thread-safe by the ABI's contract
/// (`wh_host_services`: every function may be called from any thread).
public struct HostServices: @unchecked Sendable {
    private let table: UnsafePointer<wh_host_services>?

    init(_ table: UnsafePointer<wh_host_services>?) { self.table = table }

    public enum LogLevel: Int32, Sendable {
        case trace = 0, debug, info, warn, error
    }

    /// Sends a message to the host's log. The host copies it before returning.
    public func log(_ level: LogLevel, _ message: String) {
        guard let table, let log = table.pointee.log else { return }
        var message = message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { log(table.pointee.context, level.rawValue, $0.baseAddress, $0.count) }
        }
    }
}

// MARK: - HTTP through the host

/// An HTTP method for ``HostServices/http(_:_:headers:body:timeout:)``.
public struct HTTPMethod: RawRepresentable, Sendable, Equatable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let get = HTTPMethod(rawValue: "GET")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let head = HTTPMethod(rawValue: "HEAD")
}

/// What a server answered. Redirects are not followed: a 3xx arrives as it is.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Names lower-cased, in the order received.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first header called `name` (any case).
    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name == name }?.value
    }
}

extension HostServices {
    /// Whether this host makes HTTP requests for actors (hosts before the service did not).
    public var offersHTTP: Bool {
        guard let table else { return false }
        return Int(table.pointee.struct_size) >= MemoryLayout<wh_host_services>.offset(of: \.http_release)! + MemoryLayout<UnsafeRawPointer>.size
            && table.pointee.http != nil && table.pointee.http_release != nil
    }

    /// The header value the host replaces with the secret `name`, which the variant's config
    /// must reference as `{"secret": "name"}`. The actor never sees the value.
    public static func secret(_ name: String) -> String { "{{secret:\(name)}}" }

    /// A header value from config: a string as it is, `{"secret": "NAME"}` as its reference.
    public static func headerValue(_ config: JSON) -> String? {
        if let text = config.stringValue { return text }
        if let members = config.objectValue, members.count == 1, members[0].key == "secret", let name = members[0].value.stringValue {
            return secret(name)
        }
        return nil
    }

    /// Asks the host to make an HTTP request, within the variant's network grant. Throws
    /// `.unavailable` when no answer came (timeout, refused connection), `.failed` when the
    /// host refused the request (outside the grant, response too large); any HTTP status is
    /// an answer. `timeout` is capped by the interaction's own deadline.
    public func http(_ method: HTTPMethod, _ url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                     timeout: Duration? = nil) throws(ActorError) -> HTTPResponse
    {
        guard offersHTTP, let table, let http = table.pointee.http, let release = table.pointee.http_release else {
            throw .unavailable("this host offers no HTTP service (it predates it); \(method.rawValue) \(url) was not made")
        }
        let milliseconds = timeout.map { UInt32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? 0
        var response = wh_http_response()
        response.struct_size = UInt32(MemoryLayout<wh_http_response>.size)
        // Every string is copied into one buffer so the pointers stay valid through the call.
        let texts = [method.rawValue, url] + headers.flatMap { [$0.name, $0.value] }
        var storage: [UInt8] = []
        var ranges: [(Int, Int)] = []
        for text in texts {
            ranges.append((storage.count, text.utf8.count))
            storage += text.utf8
        }
        let status: wh_status = storage.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                let base = chars.baseAddress
                func at(_ index: Int) -> (UnsafePointer<CChar>?, Int) { (base.map { $0 + ranges[index].0 }, ranges[index].1) }
                var list: [wh_http_header] = []
                for index in headers.indices {
                    let (name, value) = (at(2 + 2 * index), at(3 + 2 * index))
                    list.append(wh_http_header(name: name.0, name_length: name.1, value: value.0, value_length: value.1))
                }
                return list.withUnsafeBufferPointer { list in
                    body.withUnsafeBufferPointer { body in
                        var request = wh_http_request(
                            struct_size: UInt32(MemoryLayout<wh_http_request>.size), timeout_ms: milliseconds,
                            method: at(0).0, method_length: at(0).1, url: at(1).0, url_length: at(1).1,
                            headers: list.baseAddress, header_count: list.count, body: body.baseAddress, body_length: body.count)
                        return http(table.pointee.context, &request, &response)
                    }
                }
            }
        }
        defer { release(table.pointee.context, &response) }
        func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
            guard let pointer, length > 0 else { return "" }
            return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
        }
        guard status == WH_OK else {
            let message = text(response.error, response.error_length)
            throw status == WH_ERR_UNAVAILABLE ? .unavailable(message) : .failed(message)
        }
        var answer = HTTPResponse(status: Int(response.status), headers: [], body: [])
        for index in 0..<(response.headers == nil ? 0 : response.header_count) {
            let header = response.headers[index]
            answer.headers.append((text(header.name, header.name_length), text(header.value, header.value_length)))
        }
        if let body = response.body { answer.body = Array(UnsafeBufferPointer(start: body, count: response.body_length)) }
        return answer
    }
}
