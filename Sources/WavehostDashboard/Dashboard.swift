import Foundation
import WavehostEngine
import WavehostRouting
import WavehostStore

/// A request as the HTTP server hands it over: header names lowercased, the path without
/// its query string (one is stripped if present), the query already split.
public struct DashboardRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Lowercased names.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: [String: String], headers: [String: String], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

public struct DashboardResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(String, String)]
    public var body: [UInt8]
}

/// A failure of one of the service's background tasks, shown on the status page.
public struct BackgroundIssue: Sendable {
    /// When it last happened.
    public var time: Date
    public var task: String
    public var message: String
    /// How many times in a row it happened (an error every pass is one entry, not hundreds).
    public var repeats: Int

    public init(time: Date, task: String, message: String, repeats: Int = 1) {
        self.time = time
        self.task = task
        self.message = message
        self.repeats = repeats
    }
}

/// The web dashboard and its JSON API, as one function from request to response; the
/// service's HTTP server (module WavehostService) mounts it. Pages are server-rendered
/// HTML with inline SVG plots and no external assets; they read without JavaScript, and
/// a small inline script refreshes them every 5 s when it runs.
///
/// Routes (`Dashboard.routes`; docs/api/openapi.yaml documents each):
/// `GET /`, `GET /steps/W/S`, `GET /reviews`, `POST /reviews/ID/accept|reject`, and under
/// `/api/` the same data as JSON. Unknown paths are 404, a known path with another
/// method 405 (with `Allow`).
///
/// **Access.** Reading needs nothing (the server listens on loopback by default).
/// Anything that changes state (a POST) needs both:
/// - the token — as `Authorization: Bearer TOKEN`, a form field `token`, or the cookie
///   `wavehost_token`; compared in constant time. An empty token turns every change off.
/// - a same-origin request: a POST whose `Origin` differs from its `Host` (or which the
///   browser marks `Sec-Fetch-Site: cross-site`) is refused, whatever it carries.
/// Either missing is 403 with a message saying which.
///
/// **How the token reaches a browser.** The operator opens the URL the service prints,
/// `/?token=TOKEN`, once. The dashboard checks it, answers 303 to the same page without
/// the token (so it leaves the address bar, history and `Referer`), and sets the cookie
/// `wavehost_token` with `HttpOnly; SameSite=Strict; Path=/`: scripts cannot read it and
/// other sites' pages cannot send it. The token is never written into a page — not into
/// forms, not into a report — so a saved page or a screenshot does not leak it; a viewer
/// without the cookie gets a password field in the review form instead.
public final class Dashboard: Sendable {
    let store: Store
    let access: Access
    let backgroundIssues: @Sendable () -> [BackgroundIssue]

    public init(store: Store, token: String, backgroundIssues: @escaping @Sendable () -> [BackgroundIssue]) {
        self.store = store
        self.access = Access(token: token)
        self.backgroundIssues = backgroundIssues
    }

    /// Every route: method and path template (`{name}` is one path segment).
    public static let routes: [(method: String, path: String)] = Route.table.map { ($0.method, $0.template) }

    public func respond(_ request: DashboardRequest) -> DashboardResponse {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        let isAPI = segments.first == "api"
        let method = request.method.uppercased() == "HEAD" ? "GET" : request.method.uppercased()
        switch Route.match(segments) {
        case .none:
            return Responses.notFound("No page at \(path).", api: isAPI)
        case .some(let (route, parameters)):
            guard route.method == method else {
                let allowed = Route.table.filter { Route.fits($0, segments) }.map(\.method)
                return Responses.methodNotAllowed(request.method, path: path, allowed: allowed, api: isAPI)
            }
            do {
                return try handle(route, parameters, request)
            } catch let error as DashboardError {
                switch error {
                case .notFound(let message): return Responses.notFound(message, api: isAPI)
                case .badRequest(let message): return Responses.error(400, message, api: isAPI)
                }
            } catch {
                return Responses.error(500, "The store could not answer: \(error)", api: isAPI)
            }
        }
    }

    private func handle(_ route: Route, _ parameters: [String], _ request: DashboardRequest) throws -> DashboardResponse {
        switch route.name {
        case .status, .apiStatus:
            if route.name == .status, let redirect = access.acceptTokenFromQuery(request) { return redirect }
            let workflow = request.query["workflow"].flatMap { $0.isEmpty ? nil : $0 }
            let report = try store.status(workflow: workflow)
            if let workflow, report.workflows.isEmpty { throw DashboardError.notFound("This store has no workflow named \(workflow).") }
            let issues = backgroundIssues()
            if route.name == .apiStatus { return Responses.json(API.status(report, issues: issues)) }
            let open = try store.reviewItems(resolvedLimit: 0).count
            return Responses.live { StatusPage.render(report, issues: issues, openReviews: open, frame: .live(nonce: $0)) }
        case .step, .apiStep:
            if route.name == .step, let redirect = access.acceptTokenFromQuery(request) { return redirect }
            let comparison = try StepComparison.load(store: store, workflow: parameters[0], step: parameters[1],
                                                     quality: try Query.quality(request.query), since: try Query.since(request.query),
                                                     policy: try Query.policy(request.query))
            if route.name == .apiStep { return Responses.json(API.step(comparison)) }
            return Responses.live { StepPage.render(comparison, frame: .live(nonce: $0)) }
        case .reviews, .apiReviews:
            if route.name == .reviews, let redirect = access.acceptTokenFromQuery(request) { return redirect }
            let items = try store.reviewItems(), decisions = try store.reviewDecisions()
            if route.name == .apiReviews { return Responses.json(API.reviews(items, decisions)) }
            return Responses.live {
                ReviewsPage.render(items, decisions, request: request, signedIn: access.hasCookie(request),
                                   now: Int64(Date.now.timeIntervalSince1970 * 1000), nonce: $0)
            }
        case .accept, .reject, .apiAccept, .apiReject:
            let accepted = route.name == .accept || route.name == .apiAccept
            let api = route.name == .apiAccept || route.name == .apiReject
            return ReviewActions.resolve(id: parameters[0], accepted: accepted, api: api, request: request, access: access, store: store)
        }
    }
}

/// The route table: what `respond` serves, and what the OpenAPI file must list.
struct Route {
    enum Name { case status, step, reviews, accept, reject, apiStatus, apiStep, apiReviews, apiAccept, apiReject }
    let name: Name
    let method: String
    let template: String

    static let table = [
        Route(name: .status, method: "GET", template: "/"),
        Route(name: .step, method: "GET", template: "/steps/{workflow}/{step}"),
        Route(name: .reviews, method: "GET", template: "/reviews"),
        Route(name: .accept, method: "POST", template: "/reviews/{id}/accept"),
        Route(name: .reject, method: "POST", template: "/reviews/{id}/reject"),
        Route(name: .apiStatus, method: "GET", template: "/api/status"),
        Route(name: .apiStep, method: "GET", template: "/api/steps/{workflow}/{step}"),
        Route(name: .apiReviews, method: "GET", template: "/api/reviews"),
        Route(name: .apiAccept, method: "POST", template: "/api/reviews/{id}/accept"),
        Route(name: .apiReject, method: "POST", template: "/api/reviews/{id}/reject"),
    ]

    /// Whether `segments` fit the route's template; `{…}` matches any one segment.
    static func fits(_ route: Route, _ segments: [String]) -> Bool {
        let parts = route.template.split(separator: "/")
        return parts.count == segments.count && zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }

    /// The first route that fits and the values of its `{…}` segments.
    static func match(_ segments: [String]) -> (Route, [String])? {
        guard let route = table.first(where: { fits($0, segments) }) else { return nil }
        let parts = route.template.split(separator: "/")
        return (route, zip(parts, segments).filter { $0.0.hasPrefix("{") }.map(\.1))
    }
}

/// The step page's query: `quality=STEP.FIELD`, `window=MINUTES`, `minimum=N`, as the
/// `compare` command's options.
enum Query {
    static func quality(_ query: [String: String]) throws -> (step: String, field: [String])? {
        guard let text = query["quality"], !text.isEmpty else { return nil }
        let parts = text.split(separator: ".").map(String.init)
        guard parts.count >= 2 else { throw DashboardError.badRequest("quality must be STEP.FIELD (e.g. quality.answer.grade), not \(text)") }
        return (parts[0], Array(parts.dropFirst()))
    }

    static func since(_ query: [String: String]) throws -> Int64 {
        guard let text = query["window"], !text.isEmpty else { return 0 }
        guard let minutes = Double(text), minutes > 0, minutes.isFinite else {
            throw DashboardError.badRequest("window must be a positive number of minutes, not \(text)")
        }
        return Int64(Date.now.timeIntervalSince1970 * 1000 - minutes * 60_000)
    }

    static func policy(_ query: [String: String]) throws -> PromotionPolicy {
        var policy = PromotionPolicy()
        if let text = query["minimum"], !text.isEmpty {
            guard let minimum = Int(text), minimum >= 1 else { throw DashboardError.badRequest("minimum must be a whole number ≥ 1, not \(text)") }
            policy.minimumSample = minimum
        }
        return policy
    }
}
