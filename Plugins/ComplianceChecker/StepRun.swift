import ActorKit

/// One step of a suite against one agent: the request through the host's HTTP service, then
/// the answer held to the step's expectations. An agent's fault is a reason (the step
/// failed), never an error: only the host's refusal to make the request is
/// (``HostRefusal``: a grant that does not name the agent is the operator's fault, and must
/// not be recorded as the agent failing).
struct StepRun {
    /// The host refused the request (outside the variant's grant, a malformed request).
    struct HostRefusal: Error { let message: String }

    let step: Suite.Step
    let baseURL: String
    let timeoutMilliseconds: Int

    /// Nil when the step passed, else why it failed.
    func run(_ host: HostServices) throws(HostRefusal) -> String? {
        let what = "\(step.method) \(step.path)"
        let url = baseURL + step.path
        var headers = step.headers
        var body: [UInt8] = []
        if let json = step.body {
            body = json.bytes
            if !headers.contains(where: { $0.name.lowercased() == "content-type" }) { headers.append(("Content-Type", "application/json")) }
        }
        if !headers.contains(where: { $0.name.lowercased() == "accept" }) { headers.append(("Accept", "application/json")) }
        let clock = ContinuousClock()
        let started = clock.now
        let response: HTTPResponse
        do {
            response = try host.http(HTTPMethod(rawValue: step.method), url, headers: headers, body: body,
                                     timeout: .milliseconds(timeoutMilliseconds))
        } catch {
            switch error {
            case .unavailable(let reason): return "\(what): \(Self.noAnswer(reason, url: url, timeout: timeoutMilliseconds))"
            case .failed(let reason) where reason.hasPrefix("\(step.method) \(url) refused: "):
                throw HostRefusal(message: reason)
            // The answer came but the host could not take it (too large, a broken transfer): the agent's.
            case .failed(let reason): return "\(what): \(Self.strip(reason, url: url))"
            default: return "\(what): \(error)"
            }
        }
        let elapsed = Self.milliseconds(clock.now - started)
        var problems = check(response)
        if let limit = step.expect.withinMilliseconds, elapsed > limit {
            problems.append("answered in \(elapsed) ms, over \(limit)")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// What is wrong with the answer: its status, then (when the step reads it) its body.
    private func check(_ response: HTTPResponse) -> [String] {
        let expect = step.expect
        if let status = expect.status, response.status != status {
            return ["status: expected \(status), got \(response.status)\(Self.excerpt(response.body))"]
        }
        if expect.status == nil && !(200..<300).contains(response.status) {
            return ["status: expected 2xx, got \(response.status)\(Self.excerpt(response.body))"]
        }
        guard expect.needsJSON else { return [] }
        let json: JSON
        do { json = try JSON.parse(response.body) } catch {
            return ["body is not JSON: \(error): \(Self.quote(response.body))"]
        }
        var problems: [String] = []
        for (path, expected) in expect.fields {
            let actual = Self.value(at: path, in: json)
            if actual != expected {
                problems.append("field \(path): expected \(expected.text), got \(actual?.text ?? "nothing (no such field)")")
            }
        }
        if let schema = expect.schema {
            let found = schema.problems(of: json)
            problems += found.prefix(3).map { "schema: \($0)" }
            if found.count > 3 { problems.append("schema: \(found.count - 3) more") }
        }
        return problems
    }

    /// The host's reason for no answer, said for a person.
    private static func noAnswer(_ reason: String, url: String, timeout: Int) -> String {
        let lower = reason.lowercased()
        if lower.contains("couldn't connect") || lower.contains("connection refused") { return "connection refused" }
        if lower.contains("timed out") { return "no answer within \(timeout) ms" }
        return "no answer: \(strip(reason, url: url))"
    }

    /// The host's message without its "METHOD URL: " prefix (the reason says the step already).
    private static func strip(_ reason: String, url: String) -> String {
        guard let range = reason.firstRange(of: url + ": ") else { return reason }
        return String(reason[range.upperBound...])
    }

    /// A dotted path, array elements by index: `data.items.0.id`.
    static func value(at path: String, in json: JSON) -> JSON? {
        var value: JSON? = json
        for key in path.split(separator: ".") {
            if case .array(let items)? = value, let index = Int(key) {
                value = items.indices.contains(index) ? items[index] : nil
            } else {
                value = value?[String(key)]
            }
        }
        return value
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    private static func excerpt(_ body: [UInt8]) -> String { body.isEmpty ? "" : ": \(quote(body))" }

    /// The first 120 characters of a body, quoted.
    static func quote(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(480), as: UTF8.self)
        return JSON.string(text.count > 120 ? String(text.prefix(120)) + "…" : text).text
    }
}
