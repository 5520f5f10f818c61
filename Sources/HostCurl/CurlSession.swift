internal import CCurl
import Foundation
import Synchronization

/// HTTP transfers with libcurl: redirects never followed, no proxy, the name pinned to an
/// address the caller checked, the body cut at a limit. Idle handles are kept, so a
/// server's connection stays open between calls. Thread-safe.
public final class CurlSession: Sendable {
    public enum Outcome: Sendable {
        case response(status: Int, headers: [(name: String, value: String)], body: [UInt8])
        case timedOut
        /// No connection, or it broke (refused, reset, nothing answered): worth retrying.
        case unreachable(String)
        case tooLarge
        case failed(String)
    }

    /// An easy handle and the parsed URL it was last given (kept alive with it, as curl
    /// keeps the pointer). `@unchecked Sendable` because it is a C pointer: libcurl lets a
    /// handle move between threads but not be used by two at once, and it is only used by
    /// the one request that took it out of `idle` (under its lock) until it puts it back.
    private final class Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        var url: ParsedURL?
        /// Where curl writes what went wrong, in more words than its code's text (which
        /// certificate check failed, what the reply lacked).
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        init(_ pointer: UnsafeMutableRawPointer) {
            self.pointer = pointer
            errorText.initialize(to: 0)
            _ = ccurl_set_pointer(pointer, CURLOPT_ERRORBUFFER, errorText)
        }
        deinit {
            curl_easy_cleanup(pointer)
            errorText.deallocate()
        }

        /// curl's own account of the last failure of `result`.
        func reason(for result: CURLcode) -> String {
            errorText.pointee != 0 ? String(cString: errorText) : String(cString: curl_easy_strerror(result))
        }
    }
    private let idle = Mutex<[Handle]>([])
    private static let initialize: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init() { _ = Self.initialize }

    /// The most response-header bytes libcurl takes (its MAX_HTTP_RESP_HEADER_SIZE: curl 8.3.0's
    /// fix of CVE-2023-38039, which Debian 12's 7.88.1 carries), so an actor's headers are bounded too.
    static let responseHeaderLimit = 300 * 1024

    /// The User-Agent of a request that names none.
    public static let defaultUserAgent = "wavehost/1"

    /// One transfer to `url`, the parse the caller checked. `headers` are checked by the caller (no line breaks, names without
    /// colons); `pin` is "host:port:address" for CURLOPT_RESOLVE (nil for an address
    /// literal, which curl does not resolve).
    public func perform(method: String, url: ParsedURL, headers: [(name: String, value: String)], body: [UInt8], pin: String?,
                        timeoutMilliseconds: Int, limit: Int) -> Outcome
    {
        guard let taken = idle.withLock({ $0.popLast() }) ?? Self.makeHandle() else { return .failed("curl_easy_init failed") }
        defer { giveBack(taken) }
        let handle = taken.pointer
        if taken.url !== url {
            // Without a URL text of its own, curl reads this one's from the parse at its next transfer.
            _ = ccurl_set_string(handle, CURLOPT_URL, nil)
            _ = ccurl_set_pointer(handle, CURLOPT_CURLU, UnsafeMutableRawPointer(url.handle))
            taken.url = url
        }
        var list = Self.headerList(headers)
        // "Expect:" stops curl waiting for 100-continue on larger bodies (a bodiless request has none).
        if !body.isEmpty { list = curl_slist_append(list, "Expect:") }
        defer { curl_slist_free_all(list) }
        let pinned = pin.flatMap { curl_slist_append(nil, $0) }
        defer { curl_slist_free_all(pinned) }
        let collector = Collector(limit: limit)
        let context = Unmanaged.passUnretained(collector).toOpaque()
        // Every option a request sets is set on every request (to its default when this one
        // does not need it): a handle is reused without curl_easy_reset, which costs a
        // microsecond a request, so nothing of the previous request may carry over.
        _ = ccurl_set_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        _ = ccurl_set_pointer(handle, CURLOPT_RESOLVE, pinned.map { UnsafeMutableRawPointer($0) })
        _ = ccurl_set_pointer(handle, CURLOPT_HTTPHEADER, list.map { UnsafeMutableRawPointer($0) })
        _ = ccurl_set_off(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limit))
        _ = ccurl_set_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = ccurl_set_string(handle, CURLOPT_CUSTOMREQUEST, nil)
        _ = ccurl_set_long(handle, CURLOPT_NOBODY, 0)
        _ = ccurl_set_pointer(handle, CURLOPT_POSTFIELDS, nil)
        _ = ccurl_set_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, -1)
        _ = ccurl_set_long(handle, CURLOPT_HTTPGET, 1)
        switch method {
        case "GET" where body.isEmpty: break
        case "HEAD": _ = ccurl_set_long(handle, CURLOPT_NOBODY, 1)
        default: _ = ccurl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }
        let result = body.withUnsafeBytes { bytes -> CURLcode in
            if !body.isEmpty || method == "POST" || method == "PUT" {
                _ = ccurl_set_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                _ = ccurl_set_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            return withExtendedLifetime(collector) { curl_easy_perform(handle) }
        }
        if collector.overflowed || result == CURLE_FILESIZE_EXCEEDED { return .tooLarge }
        guard result == CURLE_OK else {
            // A server that sends headers without end is cut by curl, which calls it a
            // failure to receive: it is the server's doing, and asking again would not help.
            if result == CURLE_RECV_ERROR && ccurl_header_size(handle) > Self.responseHeaderLimit {
                return .failed("the response's headers are larger than libcurl's limit of \(Self.responseHeaderLimit / 1024) KiB")
            }
            switch result {
            case CURLE_OPERATION_TIMEDOUT: return .timedOut
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
                // The code's own text: curl's detail here holds timings ("after 3 ms"), which
                // would make each such failure a reason of its own where errors are grouped.
                return .unreachable(String(cString: curl_easy_strerror(result)))
            default: return .failed(taken.reason(for: result))
            }
        }
        return .response(status: ccurl_response_code(handle), headers: Self.headers(of: handle), body: collector.body)
    }

    /// The request's header lines, and a User-Agent when they name none. Each line is
    /// written into one buffer (curl copies it): no String is made per header.
    private static func headerList(_ headers: [(name: String, value: String)]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        var line: [UInt8] = []
        var namesAgent = false
        for (name, value) in headers {
            var (name, value) = (name, value)
            name.withUTF8 { name in
                value.withUTF8 { value in
                    namesAgent = namesAgent || isUserAgent(name)
                    line.removeAll(keepingCapacity: true)
                    line.reserveCapacity(name.count + value.count + 3)
                    line.append(contentsOf: name)
                    line.append(UInt8(ascii: ":"))
                    line.append(UInt8(ascii: " "))
                    line.append(contentsOf: value)
                    line.append(0)
                }
            }
            list = line.withUnsafeBufferPointer {
                $0.withMemoryRebound(to: CChar.self) { curl_slist_append(list, $0.baseAddress) }
            }
        }
        // Not CURLOPT_USERAGENT: curl would format its line anew on every request.
        if !namesAgent { list = curl_slist_append(list, userAgentLine) }
        return list
    }

    private static let userAgentLine = "User-Agent: \(defaultUserAgent)"

    private static let userAgentName: [UInt8] = Array("user-agent".utf8)

    private static func isUserAgent(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let agent = userAgentName
        guard name.count == agent.count else { return false }
        for index in 0..<agent.count where name[index] | 0x20 != agent[index] { return false }
        return true
    }

    /// The final response's headers, as libcurl kept them (its header API: no callback per
    /// line; a 1xx response's headers and trailers are left out), names lower-cased.
    private static func headers(of handle: UnsafeMutableRawPointer) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(16)
        var previous: UnsafeMutablePointer<curl_header>?
        while let header = curl_easy_nextheader(handle, UInt32(CURLH_HEADER), -1, previous) {
            headers.append((lowercased(header.pointee.name), String(cString: header.pointee.value)))
            previous = header
        }
        return headers
    }

    /// A handle with the options every request shares: no protocol but HTTP(S), no redirect,
    /// no proxy (an environment proxy would bypass the pin), no signals, the body to a
    /// request's collector.
    private static func makeHandle() -> Handle? {
        guard let handle = curl_easy_init() else { return nil }
        _ = ccurl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_set_string(handle, CURLOPT_PROXY, "")
        _ = ccurl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_set_writer(handle, collectBody, nil)
        return Handle(handle)
    }

    /// Back to the idle ones (its connections stay open); a few at most.
    private func giveBack(_ handle: Handle) {
        // What must not outlive the request: pointers to its header lists and its collector.
        _ = ccurl_set_pointer(handle.pointer, CURLOPT_RESOLVE, nil)
        _ = ccurl_set_pointer(handle.pointer, CURLOPT_HTTPHEADER, nil)
        _ = ccurl_set_pointer(handle.pointer, CURLOPT_WRITEDATA, nil)
        _ = ccurl_set_pointer(handle.pointer, CURLOPT_POSTFIELDS, nil)
        idle.withLock { idle in
            if idle.count < 4 { idle.append(handle) }
        }
    }
}

/// A response's body, refusing one past `limit`.
private final class Collector {
    let limit: Int
    var body: [UInt8] = []
    var overflowed = false
    init(limit: Int) { self.limit = limit }

    static func from(_ context: UnsafeMutableRawPointer?) -> Collector? {
        context.map { Unmanaged<Collector>.fromOpaque($0).takeUnretainedValue() }
    }
}

private func collectBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let collector = Collector.from(context) else { return 0 }
    let length = size * count
    guard collector.body.count + length <= collector.limit else {
        collector.overflowed = true
        return 0  // a short count stops the transfer
    }
    collector.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// A header name in lower case, made in one pass (names are ASCII; other bytes stay as they are).
private func lowercased(_ name: UnsafeMutablePointer<CChar>) -> String {
    let count = strlen(name)
    return String(unsafeUninitializedCapacity: count) { out in
        for index in 0..<count {
            let byte = UInt8(bitPattern: name[index])
            out[index] = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
        }
        return count
    }
}
