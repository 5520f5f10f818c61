import Foundation

/// Who may change state: the token, and the same origin (see `Dashboard`'s doc comment).
struct Access: Sendable {
    static let cookie = "wavehost_token"
    let token: String

    /// Why `request` may not change state, or nil when it may. `form` is its parsed body
    /// (for the `token` field).
    func refusal(_ request: DashboardRequest, form: [String: String]) -> String? {
        if let origin = request.headers["origin"] {
            guard let host = request.headers["host"], Self.authority(ofOrigin: origin) == Self.normalised(host, scheme: Self.scheme(of: origin)) else {
                return "Refused: this request comes from another origin (\(origin)); state changes are accepted only from the dashboard's own pages."
            }
        }
        if request.headers["sec-fetch-site"]?.lowercased() == "cross-site" {
            return "Refused: the browser marked this request as cross-site; state changes are accepted only from the dashboard's own pages."
        }
        guard !token.isEmpty else { return "Refused: this dashboard has no token, so it accepts no changes." }
        let presented = Self.bearer(request) ?? form["token"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.cookieToken(request)
        guard let presented else {
            return "Refused: a token is required. Open the URL the service printed (with ?token=) once, "
                + "or send Authorization: Bearer TOKEN, or fill in the token field."
        }
        guard Self.same(presented, token) else { return "Refused: the token is wrong." }
        return nil
    }

    /// Whether the viewer's cookie holds the right token (the page then needs no token field).
    func hasCookie(_ request: DashboardRequest) -> Bool {
        !token.isEmpty && Self.cookieToken(request).map { Self.same($0, token) } == true
    }

    /// For a page opened with `?token=`: a 303 to the same page without it, setting the
    /// cookie when the token is right, or 403 when it is wrong. Nil without `?token=`.
    func acceptTokenFromQuery(_ request: DashboardRequest) -> DashboardResponse? {
        guard let presented = request.query["token"] else { return nil }
        guard !token.isEmpty, Self.same(presented, token) else {
            return Responses.error(403, "Refused: the token in this address is wrong.", api: false)
        }
        let rest = request.query.filter { $0.key != "token" }.sorted { $0.key < $1.key }
        var location = request.path.split(separator: "?").first.map(String.init) ?? "/"
        if !rest.isEmpty { location += "?" + rest.map { "\(Form.encode($0.key))=\(Form.encode($0.value))" }.joined(separator: "&") }
        return DashboardResponse(status: 303, contentType: "text/plain; charset=utf-8", headers: [
            ("Location", location),
            ("Set-Cookie", "\(Self.cookie)=\(Form.encode(token)); Path=/; HttpOnly; SameSite=Strict"),
            ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
        ], body: Array("Signed in; continue at \(location)\n".utf8))
    }

    static func bearer(_ request: DashboardRequest) -> String? {
        guard let value = request.headers["authorization"], value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    static func cookieToken(_ request: DashboardRequest) -> String? {
        for pair in (request.headers["cookie"] ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == cookie { return parts[1].removingPercentEncoding ?? parts[1] }
        }
        return nil
    }

    /// Equal, in time that depends on the lengths only (no early exit on the first difference).
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }

    private static func scheme(of origin: String) -> String {
        origin.lowercased().hasPrefix("https://") ? "https" : "http"
    }

    /// `http://Example.com:80` → `example.com`; `null` and other non-URLs → nil.
    static func authority(ofOrigin origin: String) -> String? {
        let lower = origin.lowercased()
        for prefix in ["http://", "https://"] where lower.hasPrefix(prefix) {
            return normalised(String(lower.dropFirst(prefix.count)), scheme: String(prefix.dropLast(3)))
        }
        return nil
    }

    /// A host[:port] lowercased, without the scheme's default port.
    static func normalised(_ authority: String, scheme: String) -> String {
        let lower = authority.lowercased().trimmingCharacters(in: .whitespaces)
        let port = scheme == "https" ? ":443" : ":80"
        return lower.hasSuffix(port) ? String(lower.dropLast(port.count)) : lower
    }
}

/// `application/x-www-form-urlencoded`, both ways.
enum Form {
    static func parse(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if let key = parts.first, !key.isEmpty { fields[key] = parts.count > 1 ? parts[1] : "" }
        }
        return fields
    }

    /// Percent-encodes all but RFC 3986's unreserved ASCII characters.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    // `.alphanumerics` would let non-ASCII letters through unencoded.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
