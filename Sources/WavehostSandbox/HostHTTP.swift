import ActorABI
import ActorRuntime
import Foundation
import HostCurl
import Synchronization
import WavehostHash
import WavehostJSON

/// The host's HTTP service for one variant: each request an actor asks for is checked
/// against the variant's network grant, its secrets substituted, made with libcurl pinned
/// to the checked address, never redirected, cut at the response limit, and recorded.
public final class HostHTTP: Sendable {
    public let actor: String
    public let grant: NetworkGrant?
    /// The largest response body accepted.
    public let responseLimit: Int
    /// The secrets the variant's config references as `{"secret": "NAME"}`.
    public let secrets: Set<String>
    /// True when every request must belong to an interaction (the engine's variants): one
    /// made outside any, which could not be recorded, is refused.
    public let interactionsOnly: Bool
    /// Where a secret's value comes from (``HostSecrets``: the secrets file, else the environment).
    private let secretValue: @Sendable (String) -> String?
    /// In-process calls under way: a request from an actor's own thread belongs to the oldest.
    private let attending = Mutex<[HostCallLog.Collection]>([])
    public static let defaultTimeout: Duration = .seconds(30)
    /// Its transfers (a reused handle reuses its open connection to the same host).
    private let session = CurlSession()
    /// The last URL read and its parts: an actor asks for the same URL again and again, and
    /// libcurl's parser takes half a microsecond. Kept checked when it names an address
    /// (the grant does not change); a name is resolved and checked on every request.
    private let lastTarget = Mutex<(url: String, target: HTTPTarget)?>(nil)

    public init(actor: String, grant: NetworkGrant?, responseLimit: UInt64 = SandboxLimits().httpResponseBytes,
                secrets: Set<String> = [], interactionsOnly: Bool = false,
                secretValue: @escaping @Sendable (String) -> String? = HostHTTP.environment)
    {
        self.actor = actor
        self.interactionsOnly = interactionsOnly
        self.grant = grant
        self.responseLimit = Int(clamping: responseLimit)
        self.secrets = secrets
        self.secretValue = secretValue
    }

    /// The host's secrets: its secrets file when one is loaded, else its environment (``HostSecrets``).
    public static let environment: @Sendable (String) -> String? = { name in HostSecrets.value(name) }

    /// Every `{"secret": "NAME"}` in a variant's config, anywhere in it.
    public static func secretNames(in config: JSON) -> Set<String> {
        switch config {
        case .object(let members):
            if members.count == 1, members[0].key == "secret", let name = members[0].value.stringValue { return [name] }
            return members.reduce(into: []) { $0.formUnion(secretNames(in: $1.value)) }
        case .array(let items): return items.reduce(into: []) { $0.formUnion(secretNames(in: $1)) }
        default: return []
        }
    }

    @usableFromInline func attend(_ collection: HostCallLog.Collection) { attending.withLock { $0.append(collection) } }
    @usableFromInline func leave(_ collection: HostCallLog.Collection) { attending.withLock { $0.removeAll { $0 === collection } } }

    /// Makes `request`, finishing before `deadline` (monotonic nanoseconds) when one is given,
    /// and records it with the interaction it belongs to.
    public func perform(_ request: HostHTTPRequest, deadline: UInt64? = nil) -> HostHTTPResponse {
        let began = monotonicNanoseconds()
        let interaction = HostCallLog.current ?? attending.withLock { $0.first }
        var deadline = deadline
        if deadline == nil, let interaction, case let attended = interaction.deadline.load(ordering: .relaxed), attended > 0 {
            deadline = attended
        }
        var record = HostCallRecord(method: request.method, host: "", path: "", status: 0, bytesOut: request.body.count,
                                    bytesIn: 0, durationMicroseconds: 0, requestSHA256: ContentHash.sha256(of: request.body))
        let response: HostHTTPResponse
        do throws(HTTPTarget.Refusal) {
            var target = try target(of: request.url)
            (record.host, record.path) = (target.recordedHost, target.path)
            if interaction == nil && interactionsOnly {
                throw HTTPTarget.Refusal(message: "no interaction of actor \(actor) is under way to record it with "
                    + "(a request from a thread of the actor's own after its call returned)")
            }
            response = try transfer(request, to: &target, run: interaction?.run, began: began, deadline: deadline)
        } catch {
            response = HostHTTPResponse(failure: WH_ERR_FAILED, "\(request.method) \(request.url) refused: \(error.message)")
        }
        record.status = Int(response.httpStatus)
        record.bytesIn = response.body.count
        record.responseSHA256 = response.status == WH_OK ? ContentHash.sha256(of: response.body) : nil
        record.error = response.error
        record.durationMicroseconds = Int64((monotonicNanoseconds() - began) / 1000)
        interaction?.append(record)
        return response
    }

    private func target(of url: String) throws(HTTPTarget.Refusal) -> HTTPTarget {
        if let last = lastTarget.withLock({ $0 }), last.url == url { return last.target }
        let target = try HTTPTarget(url: url)
        lastTarget.withLock { $0 = (url, target) }
        return target
    }

    private func transfer(_ request: HostHTTPRequest, to target: inout HTTPTarget, run: NetworkGrant.Run?, began: UInt64, deadline: UInt64?)
        throws(HTTPTarget.Refusal) -> HostHTTPResponse
    {
        guard let grant else {
            throw .init(message: "the variant of actor \(actor) grants no network; grant it with network: {allow: [\"\(target.host)\"]}")
        }
        let method = request.method
        guard (1...16).contains(method.utf8.count), method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw .init(message: "\"\(method)\" is not an HTTP method")
        }
        if let run, !grant.permits(method: method, in: run) {
            let who = run == .shadow ? "a shadow variant" : "a \(run.rawValue) run"
            throw .init(message: "\(who) makes no \(method) request: only GET and HEAD, which change nothing outside "
                + "(list \(run.rawValue) in the grant's writes_in to let it)")
        }
        if !target.isAddressLiteral {
            try target.check(against: grant)
            if target.isAddressLiteral { lastTarget.withLock { $0 = (request.url, target) } }
        }
        let headers = try substitute(request.headers)
        var timeout = request.timeoutMilliseconds == 0 ? Self.defaultTimeout.nanoseconds : UInt64(request.timeoutMilliseconds) * 1_000_000
        if let deadline {
            // Leave the interaction time to answer after the request.
            let left = deadline > began ? (deadline - began) * 9 / 10 : 0
            timeout = min(timeout, left)
        }
        guard timeout >= 1_000_000 else {
            return HostHTTPResponse(failure: WH_ERR_UNAVAILABLE, "\(method) \(request.url): no time left before the interaction's deadline")
        }
        let milliseconds = Int(timeout / 1_000_000)
        // An address literal is its own pin: curl does not resolve it.
        let pin = target.address == target.host ? nil : "\(target.host):\(target.port):\(target.address)"
        var what: String { "\(method) \(request.url)" }
        switch session.perform(method: method, url: target.parsed, headers: headers, body: request.body, pin: pin,
                               timeoutMilliseconds: milliseconds, limit: responseLimit) {
        case .response(let status, let headers, let body):
            return HostHTTPResponse(httpStatus: Int32(clamping: status), headers: headers, body: body)
        case .timedOut: return HostHTTPResponse(failure: WH_ERR_UNAVAILABLE, "\(what): timed out after \(milliseconds) ms")
        case .unreachable(let reason): return HostHTTPResponse(failure: WH_ERR_UNAVAILABLE, "\(what): \(reason)")
        case .failed(let reason): return HostHTTPResponse(failure: WH_ERR_FAILED, "\(what): \(reason)")
        case .tooLarge:
            return HostHTTPResponse(failure: WH_ERR_FAILED, "\(what): the response is larger than the limit of \(responseLimit) bytes "
                + "(limits: {http_response_bytes: N} on the variant raises it)")
        }
    }

    /// Replaces `{{secret:NAME}}` in header values; refuses CR/LF (header injection) and unknown names.
    private func substitute(_ headers: [(name: String, value: String)]) throws(HTTPTarget.Refusal) -> [(name: String, value: String)] {
        var out = headers
        for (index, (name, value)) in headers.enumerated() {
            var (checkedName, checkedValue) = (name, value)
            // Bytes, not Characters: "\r\n" is one Character in Swift.
            let (nameIsClean, valueIsClean, namesSecret) = checkedName.withUTF8 { name in
                checkedValue.withUTF8 { value in
                    (!name.isEmpty && !name.contains { $0 <= 32 || $0 == UInt8(ascii: ":") || $0 == 127 },
                     !value.contains(where: Self.isLineBreak), value.contains(UInt8(ascii: "{")))
                }
            }
            guard nameIsClean, valueIsClean else {
                throw .init(message: "header \(Self.quoted(name)) has a malformed name or a line break in its value")
            }
            // Most values name no secret: no search then.
            if namesSecret { out[index].value = try withSecrets(value, header: name) }
        }
        return out
    }

    private func withSecrets(_ value: String, header name: String) throws(HTTPTarget.Refusal) -> String {
        var out = ""
        var rest = Substring(value)
        while let open = rest.firstRange(of: "{{secret:") {
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else { break }
            let secret = String(rest[open.upperBound..<close.lowerBound])
            guard secrets.contains(secret) else {
                throw .init(message: "header \(name) uses secret \(secret), which the variant's config does not reference "
                    + "as {\"secret\": \"\(secret)\"}")
            }
            guard let text = secretValue(secret), !text.isEmpty, !text.utf8.contains(where: Self.isLineBreak) else {
                throw .init(message: "secret \(secret) (for header \(name)) is not set in the host's environment, or holds a line break")
            }
            out += rest[..<open.lowerBound] + text
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    private static func isLineBreak(_ byte: UInt8) -> Bool { byte == 10 || byte == 13 || byte == 0 }

    static func quoted(_ text: String) -> String { JSON.string(String(text.prefix(64))).text }
}
