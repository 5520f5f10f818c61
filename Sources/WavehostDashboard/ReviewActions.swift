import Foundation
import WavehostEngine
import WavehostJSON
import WavehostStore

/// `POST /reviews/ID/accept|reject` and the same under /api/: a person's decision on a
/// human-review item, recorded by `Store.resolveReview` as an event with who and why.
/// The form posts `who`, `why` (and `token` when the viewer has no cookie); the API takes
/// a JSON object `{"who": …, "why": …}` or the same form encoding.
enum ReviewActions {
    static let longestName = 200, longestReason = 2000

    static func resolve(id text: String, accepted: Bool, api: Bool, request: DashboardRequest, access: Access,
                        store: Store) -> DashboardResponse {
        let fields = fields(request)
        if let refusal = access.refusal(request, form: fields) { return Responses.error(403, refusal, api: api) }
        guard let id = Int64(text), id > 0 else { return Responses.notFound("There is no review \(text).", api: api) }
        let who = (fields["who"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let why = (fields["why"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !who.isEmpty, !why.isEmpty else {
            return Responses.error(400, "Say who decides and why: both fields `who` and `why` are required.", api: api)
        }
        guard who.count <= longestName, why.count <= longestReason else {
            return Responses.error(400, "`who` takes at most \(longestName) characters and `why` \(longestReason).", api: api)
        }
        let outcome: Store.ReviewResolution
        do { outcome = try store.resolveReview(id, accepted: accepted, by: who, why: why) } catch {
            return Responses.error(500, "The decision was not recorded: \(error)", api: api)
        }
        let decision = accepted ? "accepted" : "rejected"
        switch outcome {
        case .notFound:
            return Responses.notFound("There is no review \(id).", api: api)
        case .alreadyResolved(let at):
            return Responses.error(409, "Review \(id) was already resolved at \(Format.time(at)); nothing was changed.", api: api)
        case .resolved(let at):
            if api {
                return Responses.json(["review": .integer(id), "decision": .string(decision), "by": .string(who), "why": .string(why),
                                       "resolved_at": .integer(at)])
            }
            // Post/redirect/get: a reload of the next page does not post again.
            return DashboardResponse(status: 303, contentType: "text/plain; charset=utf-8",
                                     headers: [("Location", "/reviews?resolved=\(id)"), ("Cache-Control", "no-store")],
                                     body: Array("Review \(id) \(decision).\n".utf8))
        }
    }

    /// The body's fields: a JSON object's string members, or a form.
    private static func fields(_ request: DashboardRequest) -> [String: String] {
        if (request.headers["content-type"] ?? "").lowercased().hasPrefix("application/json") {
            // A body that is not a JSON object has no fields, and the request is refused for the missing ones.
            guard let members = (try? JSON.parse(request.body))?.objectValue else { return [:] }
            return Dictionary(members.compactMap { member in member.value.stringValue.map { (member.key, $0) } }) { first, _ in first }
        }
        return Form.parse(request.body)
    }
}

/// `GET /reviews`: open items with Accept / Reject forms, then recent decisions.
enum ReviewsPage {
    static func render(_ items: [Store.ReviewItem], _ decisions: [Store.ReviewDecision], request: DashboardRequest,
                       signedIn: Bool, now: Int64, nonce: String) -> String {
        var body = "<h1>Human reviews</h1><p class=\"sub\">Challengers the promotion policy could not judge alone. "
            + "A decision is recorded as an event with who made it and why.</p>"
        if let resolved = request.query["resolved"].flatMap(Int64.init), let decision = decisions.first(where: { $0.review == resolved }) {
            body += "<div class=\"notice\">Review \(resolved) \(HTML.escape(decision.decision)) by \(HTML.escape(decision.by)).</div>"
        }
        let open = items.filter { $0.resolvedAt == nil }
        body += "<section><h2>Open (\(open.count))</h2>"
        if open.isEmpty { body += "<p class=\"none\">Nothing waits for a decision.</p>" }
        for item in open {
            body += "<div class=\"review\" id=\"review-\(item.id)\"><p><b>Review \(item.id)</b> · "
                + "<a href=\"\(HTML.stepPath(item.workflow, item.step))\">\(HTML.escape(item.workflow)) / \(HTML.escape(item.step))</a> · "
                + "opened \(Format.ago(item.createdAt, now))</p><p>\(HTML.escape(item.reason))</p>"
            body += evidence(item.evidence)
            body += "<form class=\"review\" method=\"post\" action=\"/reviews/\(item.id)/accept\">"
                + "<input type=\"text\" name=\"who\" placeholder=\"who decides\" required maxlength=\"\(ReviewActions.longestName)\">"
                + "<input type=\"text\" name=\"why\" placeholder=\"why\" required size=\"40\" maxlength=\"\(ReviewActions.longestReason)\">"
                + (signedIn ? "" : "<input type=\"password\" name=\"token\" placeholder=\"token\" required autocomplete=\"off\">")
                + "<button class=\"accept\" type=\"submit\" formaction=\"/reviews/\(item.id)/accept\">Accept</button>"
                + "<button class=\"reject\" type=\"submit\" formaction=\"/reviews/\(item.id)/reject\">Reject</button></form></div>"
        }
        body += "</section>"
        let resolved = items.filter { $0.resolvedAt != nil }
        body += "<section><h2>Recently resolved</h2>" + HTML.table(["review", "step", "decision", "by", "why", "when"], resolved.map { item in
            let decision = decisions.first { $0.review == item.id }
            return ["\(item.id)", "\(HTML.escape(item.workflow)) / \(HTML.escape(item.step))", HTML.escape(decision?.decision ?? "resolved"),
                    HTML.escape(decision?.by ?? "–"), HTML.escape(decision?.why ?? "–"), Format.ago(item.resolvedAt, now)]
        }) + "</section>"
        return HTML.page(title: "Reviews — Wavehost", frame: .live(nonce: nonce), body: body)
    }

    /// The verdict's numbers kept with the review (`Promotion.evidence`), as a table.
    private static func evidence(_ text: String) -> String {
        // Evidence that is not the verdict's object is shown as it was kept.
        guard let json = try? JSON.parse(text), json.objectValue != nil else { return "<pre class=\"err\">\(HTML.escape(text))</pre>" }
        let rows = ["champion", "challenger"].compactMap { role -> [String]? in
            guard let record = json[role] else { return nil }
            return [role, "#\(record["variant"]?.intValue.map(String.init) ?? "?")", record["finished"]?.intValue.map(String.init) ?? "–",
                    Format.percent(record["success_rate"]?.doubleValue), Format.milliseconds(record["p50_ms"]?.doubleValue),
                    Format.milliseconds(record["p95_ms"]?.doubleValue)]
        }
        var html = HTML.table(["", "variant", "finished", "success", "p50", "p95"], rows, numeric: [2, 3, 4, 5], empty: "no records kept")
        html += "<p class=\"none\">z \(Format.number(json["z"]?.doubleValue)), p \(Format.pValue(json["p_value"]?.doubleValue))"
            + (json["test"]?.stringValue.map { " · " + HTML.escape($0) } ?? "") + "</p>"
        return html
    }
}
