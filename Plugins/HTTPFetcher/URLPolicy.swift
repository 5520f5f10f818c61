import ActorKit
import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// Where the fetcher may go. A next link or redirect comes from the remote API, so each is
/// checked before it is fetched: http and https only, within the configured origin or one
/// the config lists; file:// only when the config opts in, and only beneath its root.
struct URLPolicy {
    /// Scheme, host and port, as libcurl reads them (the port made explicit).
    struct Origin: Equatable, CustomStringConvertible {
        let scheme: String, host: String, port: String
        var description: String { "\(scheme)://\(host):\(port)" }
    }

    enum Target: Equatable {
        /// Fetch over HTTP; `sendHeaders` only for the configured origin, where the API keys belong.
        case remote(sendHeaders: Bool)
        /// Read this file (its real path, beneath the root).
        case file(String)
    }

    /// The configured URL's origin (nil when it is a file).
    let home: Origin?
    let allowed: [Origin]
    /// The real path of the folder file:// URLs may read; nil when file:// is off.
    let fileRoot: String?

    init(config: JSON, url: String) throws(ActorError) {
        if config["allow_file"] == .bool(true) {
            guard let root = config["file_root"]?.stringValue else {
                throw .invalidConfig("\"allow_file\" needs \"file_root\", the folder file:// URLs may read")
            }
            guard let real = Self.realPath(root) else { throw .invalidConfig("file_root \(root): no such folder") }
            fileRoot = real
        } else {
            fileRoot = nil
        }
        var allowed: [Origin] = []
        for entry in config["allowed_origins"]?.arrayValue ?? [] {
            guard let text = entry.stringValue, let origin = Self.components(text)?.origin else {
                throw .invalidConfig("allowed_origins: \(entry.text) is not an http or https origin")
            }
            allowed.append(origin)
        }
        self.allowed = allowed
        guard let first = Self.components(url) else { throw .invalidConfig("\"url\" \(url) is not a URL") }
        home = first.origin
        switch first.scheme {
        case "http", "https": break
        case "file" where fileRoot != nil: break
        case "file": throw .invalidConfig("\"url\" \(url): file:// is read only with \"allow_file\": true and a \"file_root\"")
        default: throw .invalidConfig("\"url\" \(url): only http and https URLs are fetched, not \(first.scheme)")
        }
    }

    /// What fetching `url` means, or why it is refused (naming `url` and, for a redirect, where from).
    func check(_ url: String, from: String? = nil) throws(ActorError) -> Target {
        let what = from.map { "redirect from \($0) to \(url)" } ?? url
        guard let parts = Self.components(url) else { throw .failed("\(what): not a URL") }
        switch parts.scheme {
        case "http", "https":
            let origin = parts.origin!
            guard origin == home || allowed.contains(origin) else {
                let known = ([home].compactMap { $0 } + allowed).map(\.description).joined(separator: ", ")
                throw .failed("\(what): \(origin) is not an allowed origin (allowed: \(known.isEmpty ? "none" : known)); "
                    + "list it in \"allowed_origins\" to fetch from it")
            }
            return .remote(sendHeaders: origin == home)
        case "file":
            guard let fileRoot else {
                throw .failed("\(what): file:// is read only with \"allow_file\": true and a \"file_root\"")
            }
            guard from == nil else { throw .failed("\(what): a redirect to a file is never followed") }
            guard parts.host.isEmpty || parts.host == "localhost" else { throw .failed("\(what): a file URL names no other host") }
            guard let real = Self.realPath(parts.path) else {
                throw .failed("\(what): \(String(cString: strerror(errno)))")
            }
            // Real paths on both sides: neither `..` nor a symlink can lead out of the root.
            guard real.hasPrefix(fileRoot == "/" ? "/" : fileRoot + "/") else {
                throw .failed("\(what): \(real) is outside file_root \(fileRoot)")
            }
            return .file(real)
        default:
            throw .failed("\(what): only http and https URLs are fetched, not \(parts.scheme)")
        }
    }

    /// A URL's parts as libcurl parses it (the same parser the transfer uses), so the checks
    /// and the fetch cannot disagree about the host.
    static func components(_ url: String) -> (scheme: String, host: String, path: String, origin: Origin?)? {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart, _ flags: Int32 = 0) -> String? {
            var out: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &out, UInt32(flags)) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        guard let scheme = part(CURLUPART_SCHEME)?.lowercased() else { return nil }
        let host = (part(CURLUPART_HOST) ?? "").lowercased()
        let path = part(CURLUPART_PATH, CURLU_URLDECODE) ?? "/"
        let web = scheme == "http" || scheme == "https"
        let origin = web ? part(CURLUPART_PORT, CURLU_DEFAULT_PORT).map { Origin(scheme: scheme, host: host, port: $0) } : nil
        return (scheme, host, path, origin)
    }

    /// Resolves a next link (absolute, host-relative, or relative to the page) as RFC 3986
    /// says, through libcurl; nil if it is no URL.
    static func resolve(_ link: String, against base: String) -> String? {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        let flags = UInt32(CURLU_NON_SUPPORT_SCHEME)
        guard curl_url_set(handle, CURLUPART_URL, base, flags) == CURLUE_OK,
              curl_url_set(handle, CURLUPART_URL, link, flags) == CURLUE_OK else { return nil }
        var out: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, CURLUPART_URL, &out, 0) == CURLUE_OK, let out else { return nil }
        defer { curl_free(out) }
        return String(cString: out)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
