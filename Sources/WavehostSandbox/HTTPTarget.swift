import Foundation
import HostCurl

/// Where a request may go: the URL read by libcurl's own parser (the one the transfer
/// uses, so check and fetch cannot disagree), checked against a variant's network grant,
/// its name resolved here and every address checked, so the connection can be pinned.
struct HTTPTarget {
    let scheme: String
    let host: String
    let port: Int
    /// Path and query, for the audit record.
    let path: String
    /// The host as the audit record names it: with its port when that is not the scheme's own.
    let recordedHost: String
    /// The parse these parts were read from: the transfer goes by it.
    let parsed: ParsedURL
    /// The checked address the connection is pinned to (IPv6 in brackets).
    var address = ""
    /// An address literal: the same check against the same grant always gives the same
    /// answer, as no resolver is asked.
    var isAddressLiteral: Bool { !address.isEmpty && address == host }

    struct Refusal: Error { let message: String }

    init(url: String) throws(Refusal) {
        guard let parts = URLParts(url) else { throw Refusal(message: "\(url) is not an absolute URL") }
        scheme = parts.scheme
        guard scheme == "http" || scheme == "https" else {
            throw Refusal(message: "\(url): only http and https are spoken, not \(scheme.isEmpty ? "no scheme" : scheme)")
        }
        host = parts.host
        guard !host.isEmpty else { throw Refusal(message: "\(url) names no host") }
        guard !parts.hasCredentials else { throw Refusal(message: "\(url): credentials in a URL are refused; send a header") }
        port = parts.port ?? (scheme == "https" ? 443 : 80)
        path = parts.path
        recordedHost = port == (scheme == "https" ? 443 : 80) ? host : "\(host):\(port)"
        parsed = parts.parsed
    }

    /// Checks scheme, host and port against `grant`, resolves the name and picks an address
    /// the grant allows: a public one, or a private/loopback/link-local one the grant names.
    mutating func check(against grant: NetworkGrant) throws(Refusal) {
        var allowed: String { grant.allow.map(\.description).joined(separator: ", ") }
        guard grant.schemes.contains(scheme) else {
            throw Refusal(message: "scheme \(scheme) is not in the variant's network grant (schemes: \(grant.schemes.joined(separator: ", ")))")
        }
        guard grant.allow.contains(where: { $0.matches(host: host, port: port) }) else {
            let named = grant.allow.contains { $0.matches(host: host, port: $0.port ?? port) }
            throw Refusal(message: named
                ? "port \(port) of host \(host) is not in the variant's network grant (allow: \(allowed))"
                : "host \(host) is not in the variant's network grant (allow: \(allowed))")
        }
        let addresses = try Self.resolve(host)
        var refused: [String] = []
        for (text, special) in addresses {
            if let special {
                // A private address only by name in the grant: a wildcard or a public name may not lead there.
                guard grant.allow.contains(where: { !$0.wildcard && $0.name == text && $0.matches(host: text, port: port) }) else {
                    refused.append("\(text) (\(special))")
                    continue
                }
            }
            address = text
            return
        }
        throw Refusal(message: "host \(host) resolves to \(refused.joined(separator: ", ")), which the variant's network grant "
            + "does not name by address (allow: \(allowed)); grant the address itself to reach it")
    }

    /// The name's addresses, each with why it is special (loopback, private…) or nil.
    private static func resolve(_ host: String) throws(Refusal) -> [(String, String?)] {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        // An IPv4 literal needs no resolver (the common loopback case, on every call).
        var literal = in_addr()
        if !host.hasPrefix("["), inet_pton(AF_INET, bare, &literal) == 1 {
            return [(host, special(v4: withUnsafeBytes(of: literal) { Array($0) }))]
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = host.hasPrefix("[") ? AI_NUMERICHOST : 0
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(bare, nil, &hints, &list)
        guard status == 0, let list else {
            throw Refusal(message: "host \(host) does not resolve: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var out: [(String, String?)] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let address = current.pointee.ai_addr {
                if current.pointee.ai_family == AF_INET {
                    let v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    let bytes = withUnsafeBytes(of: v4) { Array($0) }
                    out.append((text(AF_INET, v4), special(v4: bytes)))
                } else if current.pointee.ai_family == AF_INET6 {
                    let v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    let bytes = withUnsafeBytes(of: v6) { Array($0) }
                    out.append(("[" + text(AF_INET6, v6) + "]", special(v6: bytes)))
                }
            }
            entry = current.pointee.ai_next
        }
        if out.isEmpty { throw Refusal(message: "host \(host) has no IPv4 or IPv6 address") }
        return out.reduce(into: []) { unique, item in if !unique.contains(where: { $0.0 == item.0 }) { unique.append(item) } }
    }

    private static func text<T>(_ family: Int32, _ address: T) -> String {
        var address = address
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(family, &address, &buffer, socklen_t(buffer.count))
        return String(cString: buffer)
    }

    /// Addresses that are not the public internet (RFC 6890 and friends).
    static func special(v4 b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (127, _): "loopback"
        case (10, _), (172, 16...31), (192, 168): "private"
        case (169, 254): "link-local"
        case (100, 64...127): "shared (carrier-grade NAT)"
        case (0, _): "unspecified"
        case (192, 0) where b[2] == 0: "IETF protocol assignments"
        case (198, 18...19): "benchmarking"
        case (224...255, _): "multicast or reserved"
        default: nil
        }
    }

    static func special(v6 b: [UInt8]) -> String? {
        if b[0..<15].allSatisfy({ $0 == 0 }) { return b[15] == 1 ? "loopback" : b[15] == 0 ? "unspecified" : "reserved" }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            return special(v4: Array(b[12..<16])).map { "IPv4-mapped \($0)" }
        }
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return "link-local" }
        if b[0] & 0xfe == 0xfc { return "private (unique local)" }
        if b[0] == 0xff { return "multicast" }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b { return "NAT64" }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return "documentation" }
        return nil
    }
}
