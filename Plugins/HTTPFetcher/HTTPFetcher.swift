import ActorKit

#if canImport(Glibc)
import Glibc
#endif

/// Fetches one page of a paged JSON API (http or https; file only when the config opts
/// in) and answers its items and the link to the next page, so the engine can walk the
/// pages and resume from the last good one after a failure.
///
/// Config: `{"url": "https://jobs.example/api?page=1", "items": "data", "next": "paging.next",
///           "timeout_ms": 10000, "max_bytes": 8388608, "headers": {"Accept": "application/json"},
///           "allowed_origins": ["https://cdn.jobs.example"], "allow_file": false, "file_root": "/srv/api"}`
/// Input:  `{}` for the first page, or `{"cursor": "<url>"}` for a given page.
/// Output: `{"url": "<fetched>", "items": [...], "next": "<absolute url>" | null}`.
/// A cursor or redirect must stay within the URL's origin or `allowed_origins`; the
/// headers (API keys) go to the URL's origin only; see ``URLPolicy``. A header's value may be
/// `{"secret": "NAME"}`: the host puts the secret in, and this actor never sees it.
/// Requests go through the host's HTTP service (the host holds them to the variant's
/// network grant and records each), so the sandbox has no network; files are read here.
final class HTTPFetcher: JSONActor {
    static let info = ActorInfo(
        name: "http-fetcher",
        version: "1.0.0",
        kind: .fetcher,
        capabilities: [.threadSafe],
        description: "Fetches one page of a paged JSON API (http, https; file when allowed) and returns its items and next link.",
        configSchema: [
            "type": "object", "required": ["url"],
            "properties": [
                "url": ["type": "string"], "items": ["type": "string"], "next": ["type": "string"],
                "timeout_ms": ["type": "integer", "minimum": 1], "max_bytes": ["type": "integer", "minimum": 1],
                "headers": ["type": "object", "additionalProperties": [
                    "oneOf": [["type": "string"], ["type": "object", "required": ["secret"], "properties": ["secret": ["type": "string"]]]],
                ]],
                "allowed_origins": ["type": "array", "items": ["type": "string"]],
                "allow_file": ["type": "boolean"], "file_root": ["type": "string"],
            ],
        ],
        inputSchema: ["type": "object", "properties": ["cursor": ["type": "string"]]],
        outputSchema: ["type": "object", "required": ["url", "items", "next"]],
        examples: [
            .init("a missing file is a clear failure",
                  config: ["url": "file:///tmp/nonexistent-wavehost/page-1.json", "allow_file": true, "file_root": "/tmp"],
                  input: [:], expectsError: true),
            .init("a cursor of another scheme is refused",
                  config: ["url": "file:///tmp/nonexistent-wavehost/page-1.json", "allow_file": true, "file_root": "/tmp"],
                  input: ["cursor": "gopher://127.0.0.1/1"], expectsError: true),
        ]
    )

    private let firstURL: String
    private let itemsPath: [String]
    private let nextPath: [String]
    private let timeoutMilliseconds: Int
    private let maxBytes: Int
    private let headers: [(name: String, value: String)]
    private let policy: URLPolicy
    private let host: HostServices

    init(config: JSON, host: HostServices) throws(ActorError) {
        guard let url = config["url"]?.stringValue, url.contains("://") else {
            throw .invalidConfig("\"url\" must be an absolute URL (http:// or https://)")
        }
        firstURL = url
        policy = try URLPolicy(config: config, url: url)
        itemsPath = Self.path(config["items"]?.stringValue ?? "data")
        nextPath = Self.path(config["next"]?.stringValue ?? "paging.next")
        timeoutMilliseconds = config["timeout_ms"]?.intValue ?? 10_000
        maxBytes = config["max_bytes"]?.intValue ?? 8 << 20
        guard timeoutMilliseconds > 0, maxBytes > 0 else { throw .invalidConfig("timeout_ms and max_bytes must be positive") }
        var headers: [(name: String, value: String)] = []
        for (name, value) in config["headers"]?.objectValue ?? [] {
            guard let text = HostServices.headerValue(value) else {
                throw .invalidConfig("headers.\(name) must be a string or {\"secret\": \"NAME\"}")
            }
            headers.append((name, text))
        }
        self.headers = headers
        self.host = host
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        let url = input["cursor"]?.stringValue ?? firstURL
        let body = switch try policy.check(url) {
        case .file(let path): try read(path, url: url)
        case .remote(let sendHeaders): try fetch(url, sendHeaders: sendHeaders)
        }
        let page: JSON
        // Retryable: a page cut short or a proxy's error page is usually gone on the next try.
        do { page = try JSON.parse(body) } catch {
            throw .unavailable("page \(url) is not valid JSON (cut short, or an error page?): \(error)")
        }
        guard let items = Self.value(at: itemsPath, in: page)?.arrayValue else {
            throw .failed("page \(url) has no list at \"\(itemsPath.joined(separator: "."))\"")
        }
        // An empty link would resolve to this very page: it means there is no next one.
        let next = Self.value(at: nextPath, in: page)?.stringValue.flatMap { $0.isEmpty ? nil : URLPolicy.resolve($0, against: url) ?? $0 }
        return ["url": .string(url), "items": .array(items), "next": next.map { .string($0) } ?? .null]
    }

    /// Downloads `url`, following a redirect only where the policy lets a next link go;
    /// a server error, timeout or refused connection is `unavailable` (worth retrying),
    /// anything else that fails is `failed`.
    private func fetch(_ url: String, sendHeaders: Bool) throws(ActorError) -> [UInt8] {
        var current = url, headers = sendHeaders
        for _ in 0...Self.maxRedirects {
            let (body, redirect) = try transfer(current, sendHeaders: headers)
            guard let redirect else { return body }
            guard case .remote(let send) = try policy.check(redirect, from: current) else {
                throw .failed("redirect from \(current) to \(redirect) is not followed")
            }
            (current, headers) = (redirect, send)
        }
        throw .failed("\(url): more than \(Self.maxRedirects) redirects")
    }

    private static let maxRedirects = 5

    /// One request through the host; answers the body, or where a redirect points.
    private func transfer(_ url: String, sendHeaders: Bool) throws(ActorError) -> ([UInt8], redirect: String?) {
        let response = try host.http(.get, url, headers: [("User-Agent", "wavehost-http-fetcher/1.0")] + (sendHeaders ? headers : []),
                                     timeout: .milliseconds(timeoutMilliseconds))
        if response.body.count > maxBytes { throw .failed("page \(url) is larger than max_bytes (\(maxBytes))") }
        let status = response.status
        if (300..<400).contains(status), let location = response.header("location") {
            guard let target = URLPolicy.resolve(location, against: url) else { throw .failed("\(url): redirect to \(location), which is no URL") }
            return (response.body, target)
        }
        if status >= 500 { throw .unavailable("\(url): the server answered \(status)") }
        if status >= 400 { throw .failed("\(url): the server answered \(status)") }
        return (response.body, nil)
    }

    /// Reads a file the policy allowed (`path` is its real path), up to max_bytes.
    private func read(_ path: String, url: String) throws(ActorError) -> [UInt8] {
        do {
            return try ActorFile.contents(of: path, limit: maxBytes)
        } catch {
            switch error {
            case .cannotOpen(let reason), .cannotRead(let reason): throw .failed("\(url): \(reason)")
            case .tooLarge: throw .failed("page \(url) is larger than max_bytes (\(maxBytes))")
            }
        }
    }

    private static func path(_ dotted: String) -> [String] { dotted.split(separator: ".").map(String.init) }

    private static func value(at path: [String], in json: JSON) -> JSON? {
        var value: JSON? = json
        for key in path { value = value?[key] }
        return value
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(HTTPFetcher.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
