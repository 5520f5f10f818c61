/// What an operator grants an actor on the network, per variant in the workflow file:
///
///     network: {allow: ["api.example.com", "*.example.org:443", "10.0.0.5"], schemes: [https]}
///
/// `allow` lists hosts: a name, `*.` and a domain (any name below it, not the domain
/// itself), an IPv4 or a bracketed IPv6 address; each optionally with `:PORT`. `schemes`
/// (default `[https]`) lists what the actor may speak: `http`, `https`. This is the one
/// definition: the host-services issue enforces the same grant on every request it makes
/// for an actor. Until then a grant gives the worker the host's network (sockets for
/// IPv4/IPv6), and an actor without one gets no socket at all.
public struct NetworkGrant: Sendable, Equatable {
    public struct Host: Sendable, Equatable, CustomStringConvertible {
        /// A name, an address, or a domain suffix (for `*.`).
        public var name: String
        public var wildcard: Bool
        public var port: Int?

        public var description: String { (wildcard ? "*." : "") + name + (port.map { ":\($0)" } ?? "") }

        /// Whether `host` (and `port`) falls under this entry.
        public func matches(host: String, port: Int) -> Bool {
            if let own = self.port, own != port { return false }
            let host = host.lowercased()
            return wildcard ? host.hasSuffix("." + name) : host == name
        }
    }

    public static let knownSchemes = ["http", "https"]

    /// The runs an interaction belongs to, as far as the outside world is concerned.
    public enum Run: String, Sendable, CaseIterable {
        /// A live interaction of a production workflow.
        case prod
        /// A live interaction of a workflow with `environment: test`.
        case test
        /// A shadow variant's interaction: its answer is recorded, never used.
        case shadow
    }

    public var allow: [Host]
    public var schemes: [String]
    /// The runs whose requests may be other than GET and HEAD (`writes_in`, default prod and
    /// test): a shadow variant that would write to the outside world does not, unless listed.
    public var writesIn: Set<Run> = [.prod, .test]

    /// Whether a request with `method` may go out for an interaction of `run`.
    public func permits(method: String, in run: Run) -> Bool {
        method == "GET" || method == "HEAD" || writesIn.contains(run)
    }

    /// Checks each entry; the error says which and why.
    public init(allow: [String], schemes: [String] = ["https"]) throws(GrantError) {
        guard !allow.isEmpty else { throw GrantError("network: allow lists no host (omit network: to grant none)") }
        self.allow = try allow.map { entry throws(GrantError) in try Self.host(entry) }
        guard !schemes.isEmpty else { throw GrantError("network: schemes is empty") }
        for scheme in schemes where !Self.knownSchemes.contains(scheme) {
            throw GrantError("network: unknown scheme \"\(scheme)\" (known: \(Self.knownSchemes.joined(separator: ", ")))")
        }
        self.schemes = schemes
    }

    /// Whether a request to `scheme://host:port` is within the grant.
    public func permits(scheme: String, host: String, port: Int) -> Bool {
        schemes.contains(scheme.lowercased()) && allow.contains { $0.matches(host: host, port: port) }
    }

    private static func host(_ entry: String) throws(GrantError) -> Host {
        var text = Substring(entry.lowercased())
        guard !text.isEmpty else { throw GrantError("network: an empty host in allow") }
        if text.contains("://") || text.contains("/") {
            throw GrantError("network: \"\(entry)\" is a URL; allow lists hosts (e.g. api.example.com or api.example.com:443)")
        }
        var port: Int?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw GrantError("network: \"\(entry)\" has no closing ]") }
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()), (1...65535).contains(number) else {
                    throw GrantError("network: \"\(entry)\": the port must be a number from 1 to 65535")
                }
                port = number
            }
            return Host(name: String(text[...close]), wildcard: false, port: port)
        }
        if let colon = text.lastIndex(of: ":") {
            guard let number = Int(text[text.index(after: colon)...]), (1...65535).contains(number) else {
                throw GrantError("network: \"\(entry)\": the port must be a number from 1 to 65535")
            }
            port = number
            text = text[..<colon]
        }
        var wildcard = false
        if text.hasPrefix("*.") { wildcard = true; text = text.dropFirst(2) }
        guard !text.isEmpty, !text.contains("*") else {
            throw GrantError("network: \"\(entry)\": a wildcard may only start a name, as in *.example.org")
        }
        let allowed = "abcdefghijklmnopqrstuvwxyz0123456789.-"
        guard text.allSatisfy({ allowed.contains($0) }), !text.hasPrefix("."), !text.hasSuffix("."), !text.contains("..") else {
            throw GrantError("network: \"\(entry)\" is not a host name or address")
        }
        return Host(name: String(text), wildcard: wildcard, port: port)
    }

    public struct GrantError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The message for an actor that declares WH_CAP_NETWORK and has no grant.
    public static func notGranted(actor: String) -> String {
        "actor \(actor) declares the network capability (WH_CAP_NETWORK) but its variant grants no network; "
            + "grant it in the workflow with network: {allow: [\"api.example.com\"], schemes: [https]} on the variant "
            + "(or the step), or with --network-allow HOST for invoke (see docs/workflows.md)"
    }
}
