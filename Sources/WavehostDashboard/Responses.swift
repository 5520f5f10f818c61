import Foundation
import WavehostJSON

/// Responses with the headers every dashboard answer carries.
enum Responses {
    /// A fresh nonce for the page's one inline script.
    static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// A live page rendered with a fresh nonce, which the CSP then allows, and nothing else.
    static func live(status: Int = 200, _ render: (_ nonce: String) -> String) -> DashboardResponse {
        let nonce = Self.nonce()
        return html(render(nonce), nonce: nonce, status: status)
    }

    private static func html(_ page: String, nonce: String, status: Int) -> DashboardResponse {
        DashboardResponse(status: status, contentType: "text/html; charset=utf-8", headers: [
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-\(nonce)'; "
                + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"),
        ], body: Array(page.utf8))
    }

    static func json(_ value: JSON, status: Int = 200) -> DashboardResponse {
        DashboardResponse(status: status, contentType: "application/json", headers: [
            ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
        ], body: Array((value.prettyText + "\n").utf8))
    }

    /// An error as a small page, or as `{"error": message}` under /api/.
    static func error(_ status: Int, _ message: String, api: Bool, headers: [(String, String)] = []) -> DashboardResponse {
        var response: DashboardResponse
        if api {
            response = json(["error": .string(message), "status": .integer(status)], status: status)
        } else {
            let title = [400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict"][status] ?? "Error"
            response = live(status: status) {
                HTML.page(title: "\(status) \(title) — Wavehost", frame: .live(nonce: $0),
                          body: "<h1>\(status) \(title)</h1><section><p>\(HTML.escape(message))</p>"
                              + "<p><a href=\"/\">Back to the status page</a></p></section>")
            }
        }
        response.headers += headers
        return response
    }

    static func notFound(_ message: String, api: Bool) -> DashboardResponse { error(404, message, api: api) }

    static func methodNotAllowed(_ method: String, path: String, allowed: [String], api: Bool) -> DashboardResponse {
        error(405, "\(method) is not allowed on \(path); use \(allowed.joined(separator: " or ")).", api: api,
              headers: [("Allow", (allowed.contains("GET") ? allowed + ["HEAD"] : allowed).joined(separator: ", "))])
    }
}
