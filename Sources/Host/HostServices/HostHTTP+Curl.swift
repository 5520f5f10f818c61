import ActorABI
import ActorRuntime
import CCurl
import Foundation

extension HostHTTP {
    /// Collects a response's headers and body, refusing a body past `limit`.
    fileprivate final class Collector {
        let limit: Int
        var body: [UInt8] = []
        var headers: [(name: String, value: String)] = []
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    private static let initializeCurl: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// One transfer, pinned to `target.address`, redirects not followed, no proxy.
    /// A handle from the idle ones (its connections and TLS sessions kept), or a new one.
    func takeHandle() -> UnsafeMutableRawPointer? {
        _ = Self.initializeCurl
        return handles.withLock { $0.popLast() }?.pointer ?? curl_easy_init()
    }

    /// Back to the idle ones, its options reset (its connection cache stays); a few at most.
    func giveBack(_ handle: UnsafeMutableRawPointer) {
        curl_easy_reset(handle)
        let kept = handles.withLock { idle in
            guard idle.count < 4 else { return false }
            idle.append(CurlHandle(pointer: handle))
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
    }

    static func curl(_ request: HostHTTPRequest, on handle: UnsafeMutableRawPointer, headers: [String], target: HTTPTarget,
                     timeoutMilliseconds: Int, limit: Int) -> HostHTTPResponse
    {
        let what = "\(request.method) \(request.url)"
        var list: UnsafeMutablePointer<curl_slist>?
        // "Expect:" stops curl waiting for 100-continue on larger bodies.
        for line in headers + ["Expect:"] { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }
        // The name resolves to the address that was checked, and to no other (no DNS rebinding).
        // (An address literal is its own pin: curl does not resolve it.)
        let pin = target.address == target.host ? nil : curl_slist_append(nil, "\(target.host):\(target.port):\(target.address)")
        defer { curl_slist_free_all(pin) }
        let collector = Collector(limit: limit)
        let context = Unmanaged.passUnretained(collector).toOpaque()
        _ = ccurl_set_string(handle, CURLOPT_URL, request.url)
        _ = ccurl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_set_string(handle, CURLOPT_PROXY, "")  // an environment proxy would bypass the pin
        _ = ccurl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_set_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        _ = ccurl_set_pointer(handle, CURLOPT_RESOLVE, pin.map { UnsafeMutableRawPointer($0) })
        _ = ccurl_set_pointer(handle, CURLOPT_HTTPHEADER, list.map { UnsafeMutableRawPointer($0) })
        _ = ccurl_set_string(handle, CURLOPT_USERAGENT, "wavehost/1")
        _ = ccurl_set_off(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limit))
        _ = ccurl_set_writer(handle, collectBody, context)
        _ = ccurl_set_header_writer(handle, collectHeader, context)
        switch request.method {
        case "GET" where request.body.isEmpty: _ = ccurl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = ccurl_set_long(handle, CURLOPT_NOBODY, 1)
        default: _ = ccurl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        }
        let result = request.body.withUnsafeBytes { body -> CURLcode in
            if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
                _ = ccurl_set_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                _ = ccurl_set_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            return withExtendedLifetime(collector) { curl_easy_perform(handle) }
        }
        if collector.overflowed || result == CURLE_FILESIZE_EXCEEDED {
            return HostHTTPResponse(failure: WH_ERR_FAILED, "\(what): the response is larger than the limit of \(limit) bytes "
                + "(limits: {http_response_bytes: N} on the variant raises it)")
        }
        guard result == CURLE_OK else {
            let reason = String(cString: curl_easy_strerror(result))
            switch result {
            case CURLE_OPERATION_TIMEDOUT:
                return HostHTTPResponse(failure: WH_ERR_UNAVAILABLE, "\(what): timed out after \(timeoutMilliseconds) ms")
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
                return HostHTTPResponse(failure: WH_ERR_UNAVAILABLE, "\(what): \(reason)")
            default: return HostHTTPResponse(failure: WH_ERR_FAILED, "\(what): \(reason)")
            }
        }
        return HostHTTPResponse(httpStatus: Int32(clamping: ccurl_response_code(handle)), headers: collector.headers, body: collector.body)
    }

    fileprivate static func collector(_ context: UnsafeMutableRawPointer?) -> Collector? {
        context.map { Unmanaged<Collector>.fromOpaque($0).takeUnretainedValue() }
    }
}

private func collectBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let collector = HostHTTP.collector(context) else { return 0 }
    let length = size * count
    guard collector.body.count + length <= collector.limit else {
        collector.overflowed = true
        return 0  // a short count stops the transfer
    }
    collector.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

private func collectHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let collector = HostHTTP.collector(context) else { return 0 }
    let length = size * count
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    // A status line starts a new header block (after a 100 Continue): keep the last one only.
    if line.hasPrefix("HTTP/") { collector.headers = [] }
    if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        collector.headers.append((name, value))
    }
    return length
}
