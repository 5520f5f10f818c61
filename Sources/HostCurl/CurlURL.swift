internal import CCurl

// libcurl lives in this module alone, imported internally: a module that imports CCurl
// takes ownership of glibc's socket declarations (SOCK_STREAM…) in a whole-module build,
// and the host's other files then cannot find them.

/// A URL as libcurl parsed it, handed to the transfer whole (CURLOPT_CURLU): the request
/// goes where the checked parts say, and curl does not parse the text again (10K
/// instructions a request, a sixth of a GET). Immutable, so requests may share it.
public final class ParsedURL: @unchecked Sendable {
    let handle: OpaquePointer
    fileprivate init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { curl_url_cleanup(handle) }
}

/// A URL's parts as libcurl reads it: the parser the transfer uses, so a check made on
/// these parts and the request that follows cannot disagree about the host.
public struct URLParts: Sendable {
    public let scheme: String
    /// Lower-cased; an IPv6 address in brackets.
    public let host: String
    /// Explicit, or the scheme's default.
    public let port: Int?
    /// Path and query.
    public let path: String
    /// Whether the URL carries a user name (or password).
    public let hasCredentials: Bool
    /// The parse itself, for the transfer.
    public let parsed: ParsedURL

    /// Nil when `url` is not an absolute URL.
    public init?(_ url: String) {
        guard let handle = curl_url() else { return nil }
        parsed = ParsedURL(handle)
        guard curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart, _ flags: Int32 = 0) -> String? {
            var out: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &out, UInt32(flags)) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        scheme = part(CURLUPART_SCHEME)?.lowercased() ?? ""
        host = (part(CURLUPART_HOST) ?? "").lowercased()
        port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT).flatMap { Int($0) }
        path = (part(CURLUPART_PATH) ?? "/") + (part(CURLUPART_QUERY).map { "?" + $0 } ?? "")
        hasCredentials = part(CURLUPART_USER) != nil || part(CURLUPART_PASSWORD) != nil
    }
}
