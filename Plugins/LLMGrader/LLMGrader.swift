import ActorKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Grades a JSON record with a language model behind an OpenAI-compatible
/// `POST {endpoint}/chat/completions` (a local llama-server from `tools/llm start`, or a
/// hosted one). The prompt is a template over the input; the model's answer must be JSON,
/// constrained by `schema` when one is given.
///
/// Config: `{"endpoint": "http://127.0.0.1:8088/v1", "model": "gemma-3-270m", "system": "You grade job postings.",
///           "prompt": "Grade {{title}} at {{company.name}}", "schema": {"type": "object", ...},
///           "max_tokens": 256, "temperature": 0, "top_p": 0.9, "frequency_penalty": 0, "presence_penalty": 0,
///           "repeat_penalty": 1.1, "seed": 42, "retry_temperature": 0.7, "retry_frequency_penalty": 0.5,
///           "timeout_ms": 60000, "api_key": {"secret": "OPENAI_API_KEY"}}`
/// Input:  a JSON object the prompt's `{{dotted.paths}}` read; its `attempt` (the engine's, from
///         1) makes a retry sample afresh: a new seed, `retry_temperature`, `retry_frequency_penalty`.
/// An answer cut off at max_tokens while it repeats itself (a small model's loop, "R&D, R&D,
/// R&D…") is retryable: the next attempt samples differently.
/// Output: `{"answer": <the model's JSON answer>, "model": "<as the server reports>", "usage": {...}}`.
/// The request goes through the host's HTTP service (held to the variant's network grant,
/// recorded), so the sandbox has no network; the host puts the API key in, and this actor
/// never sees it.
final class LLMGrader: JSONActor {
    static let info = ActorInfo(
        name: "llm-grader",
        version: "1.0.0",
        kind: .grader,
        capabilities: [.threadSafe],
        description: "Grades a JSON record with a language model (OpenAI-compatible chat completions); answers the model's JSON.",
        configSchema: [
            "type": "object", "required": ["prompt"], "additionalProperties": false,
            "properties": [
                "endpoint": ["type": "string"], "model": ["type": "string"],
                // Templates over the input: the host checks their {{references}} when it reads the workflow.
                "system": ["type": "string", "x-wavehost-template": true],
                "prompt": ["type": "string", "x-wavehost-template": true], "schema": ["type": "object"],
                "max_tokens": ["type": "integer", "minimum": 1], "temperature": ["type": "number", "minimum": 0, "maximum": 2],
                "top_p": ["type": "number", "minimum": 0, "maximum": 1],
                "frequency_penalty": ["type": "number", "minimum": -2, "maximum": 2],
                "presence_penalty": ["type": "number", "minimum": -2, "maximum": 2],
                "repeat_penalty": ["type": "number", "minimum": 0], "seed": ["type": "integer"],
                "retry_temperature": ["type": "number", "minimum": 0, "maximum": 2],
                "retry_frequency_penalty": ["type": "number", "minimum": -2, "maximum": 2],
                "timeout_ms": ["type": "integer", "minimum": 1],
                "api_key": ["type": "object", "required": ["secret"], "properties": ["secret": ["type": "string"]]],
            ],
        ],
        inputSchema: ["type": "object"],
        outputSchema: ["type": "object", "required": ["answer", "model"]],
        examples: [
            // Fails on the missing field before any request, so the check needs no network.
            .init("a field the prompt needs is missing",
                  config: ["endpoint": "http://127.0.0.1:1/v1", "prompt": "Grade this posting: {{posting.title}}"],
                  input: ["posting": ["company": "Acme"]], expectsError: true),
        ]
    )

    static let defaultEndpoint = "http://127.0.0.1:8088/v1"
    private static let options = Set(["endpoint", "model", "system", "prompt", "schema", "max_tokens",
                                      "temperature", "timeout_ms", "api_key"]).union(Sampling.options)
    /// A chat reply is small; anything bigger is not one.
    private static let maxResponseBytes = 4 << 20

    private let url: String
    private let endpoint: String
    private let model: String?
    private let system: Template?
    private let prompt: Template
    private let schema: JSON?
    private let maxTokens: Int
    private let sampling: Sampling
    private let timeoutMilliseconds: Int
    private let authorization: String?
    private let host: HostServices

    init(config: JSON, host: HostServices) throws(ActorError) {
        guard let members = config.objectValue else { throw .invalidConfig("config must be a JSON object") }
        if let unknown = members.first(where: { !Self.options.contains($0.key) }) {
            throw .invalidConfig("unknown option \"\(unknown.key)\" (known: \(Self.options.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String) throws(ActorError) -> String? {
            guard let value = config[key], value != .null else { return nil }
            guard let text = value.stringValue else { throw .invalidConfig("\"\(key)\" must be a string, not \(value.typeName)") }
            return text
        }
        func integer(_ key: String, default fallback: Int) throws(ActorError) -> Int {
            guard let value = config[key] else { return fallback }
            guard let number = value.intValue, number > 0 else { throw .invalidConfig("\"\(key)\" must be a positive integer") }
            return number
        }

        // The environment overrides the default only: an explicit "endpoint" always wins.
        let configured = try string("endpoint") ?? Self.environment("WAVEHOST_LLM_ENDPOINT") ?? Self.defaultEndpoint
        guard configured.hasPrefix("http://") || configured.hasPrefix("https://") else {
            throw .invalidConfig("\"endpoint\" must be an http:// or https:// base URL such as \(Self.defaultEndpoint), not \"\(configured)\"")
        }
        endpoint = configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        url = endpoint + "/chat/completions"
        model = try string("model")
        if let text = try string("system") {
            do { system = try Template(text) } catch { throw .invalidConfig("\"system\": \(error.reason)") }
        } else {
            system = nil
        }
        guard let text = try string("prompt"), !text.isEmpty else {
            throw .invalidConfig("\"prompt\" is required: a template such as \"Grade {{title}}\"")
        }
        do { prompt = try Template(text) } catch { throw .invalidConfig("\"prompt\": \(error.reason)") }
        if let value = config["schema"], value != .null {
            guard value.objectValue != nil else { throw .invalidConfig("\"schema\" must be a JSON Schema object, not \(value.typeName)") }
            schema = value
        } else {
            schema = nil
        }
        maxTokens = try integer("max_tokens", default: 256)
        timeoutMilliseconds = try integer("timeout_ms", default: 60_000)
        sampling = try Sampling(config: config)
        if let key = config["api_key"], key != .null {
            // A reference only: the host substitutes the value, which never reaches this process.
            guard key.stringValue == nil, let reference = HostServices.headerValue(key) else {
                throw .invalidConfig("\"api_key\" must be {\"secret\": \"NAME\"}, naming a secret the host holds")
            }
            authorization = "Bearer " + reference
        } else {
            authorization = nil
        }
        self.host = host
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        guard input.objectValue != nil else { throw .invalidInput("input must be a JSON object, not \(input.typeName)") }
        let attempt = max(1, input["attempt"]?.intValue ?? 1)
        let reply = try post(request(for: try prompt.render(input), system: try system?.render(input), attempt: attempt))
        return try answer(from: reply)
    }

    private func request(for text: String, system: String?, attempt: Int) -> JSON {
        var messages: [JSON] = []
        if let system { messages.append(["role": "system", "content": .string(system)]) }
        messages.append(["role": "user", "content": .string(text)])
        // llama-server turns either form into a grammar the model cannot leave.
        let format: JSON = schema.map { ["type": "json_schema", "json_schema": ["name": "answer", "schema": $0]] }
            ?? ["type": "json_object"]
        var members: [(key: String, value: JSON)] = []
        if let model { members.append(("model", .string(model))) }
        members += [("messages", .array(messages)), ("max_tokens", .integer(maxTokens))]
        members += sampling.members(attempt: attempt)
        members += [("stream", false), ("response_format", format)]
        return .object(members)
    }

    /// Reads the model's message as JSON; never makes one up.
    private func answer(from reply: JSON) throws(ActorError) -> JSON {
        guard let choice = reply["choices"]?.arrayValue?.first, let message = choice["message"] else {
            throw .failed("\(url): the reply has no choices[0].message: \(Self.quote(reply.text))")
        }
        guard let content = message["content"]?.stringValue else {
            let refusal = message["refusal"]?.stringValue.map { ": the model refused: \(Self.quote($0))" } ?? ""
            throw .failed("\(url): the reply's message has no text content\(refusal)")
        }
        let cut = choice["finish_reason"]?.stringValue == "length"
        // Cut off while looping: the model never got to close its answer. A retry samples afresh.
        if cut, let loop = Repetition.loop(in: content) {
            throw .unavailable("the model's answer repeats itself (\(Self.quote(loop)) again and again, cut off at max_tokens \(maxTokens))"
                + ": a retry samples afresh: \(Self.quote(content))")
        }
        let value: JSON
        do { value = try JSON.parse(content) } catch {
            throw .failed("the model's answer is not JSON\(cut ? " (cut off at max_tokens \(maxTokens))" : ""): \(Self.quote(content))")
        }
        if let schema { try Self.check(value, against: schema, content: content) }
        var output: [(key: String, value: JSON)] = [("answer", value), ("model", reply["model"] ?? .null)]
        if let usage = reply["usage"] { output.append(("usage", usage)) }
        return .object(output)
    }

    /// The top level only (type and required members): the server's grammar does the rest.
    private static func check(_ value: JSON, against schema: JSON, content: String) throws(ActorError) {
        if let type = schema["type"]?.stringValue {
            let matches = switch (type, value) {
            case ("integer", .number): value.intValue != nil
            case ("number", .number), ("string", .string), ("boolean", .bool), ("object", .object), ("array", .array),
                 ("null", .null): true
            default: false
            }
            guard matches else { throw .failed("the model's answer is \(value.typeName), the schema wants \(type): \(quote(content))") }
        }
        for case .string(let key) in schema["required"]?.arrayValue ?? [] where value[key] == nil {
            throw .failed("the model's answer lacks \"\(key)\", which the schema requires: \(quote(content))")
        }
    }

    /// Posts `body`; a refused or dropped connection, a timeout, 429 or 5xx is `unavailable`
    /// (worth retrying), other 4xx is `failed` with the server's own words.
    private func post(_ body: JSON) throws(ActorError) -> JSON {
        let headers = [("Content-Type", "application/json"), ("Accept", "application/json"), ("User-Agent", "wavehost-llm-grader/1.0")]
            + (authorization.map { [("Authorization", $0)] } ?? [])
        let response: HTTPResponse
        do {
            response = try host.http(.post, url, headers: headers, body: body.bytes, timeout: .milliseconds(timeoutMilliseconds))
        } catch {
            if case .unavailable(let reason) = error, reason.contains("Couldn't connect") {
                throw .unavailable("no model server at \(endpoint) (\(reason)): start a local model with `tools/llm start` or set \"endpoint\"")
            }
            throw error
        }
        if response.body.count > Self.maxResponseBytes { throw .failed("\(url): the reply is larger than \(Self.maxResponseBytes) bytes") }
        let status = response.status
        let text = String(decoding: response.body, as: UTF8.self)
        let reply = try? JSON.parse(response.body)
        let said = reply?["error"]?["message"]?.stringValue ?? reply?["error"]?.stringValue ?? Self.quote(text)
        if status >= 500 || status == 429 { throw .unavailable("\(url): the server answered \(status): \(said)") }
        if status >= 400 { throw .failed("\(url): the server answered \(status): \(said)") }
        guard let reply else { throw .failed("\(url): the reply (\(status)) is not JSON: \(Self.quote(text))") }
        return reply
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The first 200 characters, quoted, for error messages.
    static func quote(_ text: String) -> String {
        let cut = text.count > 200 ? String(text.prefix(200)) + "…" : text
        return JSON.string(cut).text
    }
}

/// A prompt with `{{dotted.path}}` placeholders, split once at create.
struct Template {
    struct Fault: Error { let reason: String }

    private enum Piece { case text(String), field(String) }
    private let pieces: [Piece]

    init(_ text: String) throws(Fault) {
        var pieces: [Piece] = []
        var rest = text[...]
        while let open = rest.firstRange(of: "{{") {
            pieces.append(.text(String(rest[..<open.lowerBound])))
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw Fault(reason: "a \"{{\" is never closed by \"}}\"")
            }
            let path = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            guard !path.isEmpty, !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                throw Fault(reason: "\"{{\(rest[open.upperBound..<close.lowerBound])}}\" is not a dotted path such as {{subject.title}}")
            }
            pieces.append(.field(path))
            rest = rest[close.upperBound...]
        }
        pieces.append(.text(String(rest)))
        self.pieces = pieces
    }

    /// Strings go in as they are, other values as compact JSON.
    func render(_ input: JSON) throws(ActorError) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let text): out += text
            case .field(let path):
                var value: JSON? = input
                for key in path.split(separator: ".") {
                    if case .array(let items)? = value, let index = Int(key) {
                        value = items.indices.contains(index) ? items[index] : nil
                    } else {
                        value = value?[String(key)]
                    }
                }
                guard let value else { throw .invalidInput("the input has no \"\(path)\", which the prompt uses ({{\(path)}})") }
                out += value.stringValue ?? value.text
            }
        }
        return out
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(LLMGrader.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry

/// The sampling parameters a variant's config sets, and how a retry changes them: a fresh
/// seed (so the same prompt does not loop the same way again), at least `retry_temperature`
/// (a seed means nothing at temperature 0) and `retry_frequency_penalty`.
struct Sampling {
    static let options: Set = ["top_p", "frequency_penalty", "presence_penalty", "repeat_penalty", "seed",
                               "retry_temperature", "retry_frequency_penalty"]

    private var values: [(key: String, value: JSON)] = []
    private let seed: Int?
    private let retryTemperature: Double
    private let retryFrequencyPenalty: Double

    init(config: JSON) throws(ActorError) {
        func number(_ key: String, _ range: ClosedRange<Double>?) throws(ActorError) -> Double? {
            guard let value = config[key], value != .null else { return nil }
            guard let number = value.doubleValue, range.map({ $0.contains(number) }) ?? (number >= 0) else {
                throw .invalidConfig("\"\(key)\" must be a number\(range.map { " from \($0.lowerBound) to \($0.upperBound)" } ?? " of 0 or more")")
            }
            return number
        }
        values.append(("temperature", .double(try number("temperature", 0...2) ?? 0)))
        for (key, range) in [("top_p", 0...1.0), ("frequency_penalty", -2...2.0), ("presence_penalty", -2...2.0)] {
            if let value = try number(key, range) { values.append((key, .double(value))) }
        }
        // llama.cpp's own; sent only when set, since hosted APIs refuse what they do not know.
        if let value = try number("repeat_penalty", nil) { values.append(("repeat_penalty", .double(value))) }
        if let value = config["seed"], value != .null {
            guard let seed = value.intValue else { throw .invalidConfig("\"seed\" must be an integer") }
            self.seed = seed
        } else {
            seed = nil
        }
        retryTemperature = try number("retry_temperature", 0...2) ?? 0.7
        retryFrequencyPenalty = try number("retry_frequency_penalty", -2...2) ?? 0.5
    }

    /// The request's sampling members for `attempt` (1 for the first).
    func members(attempt: Int) -> [(key: String, value: JSON)] {
        var out = values
        if attempt > 1 {
            func raise(_ key: String, to floor: Double) {
                let current = out.first { $0.key == key }?.value.doubleValue ?? 0
                out.removeAll { $0.key == key }
                out.append((key, .double(max(current, floor))))
            }
            raise("temperature", to: retryTemperature)
            raise("frequency_penalty", to: retryFrequencyPenalty)
        }
        if let seed = seed.map({ $0 &+ (attempt - 1) &* 7919 }) ?? (attempt > 1 ? attempt &* 7919 : nil) {
            out.append(("seed", .integer(seed)))
        }
        return out
    }
}

/// Finds a model's loop: the text ends in one phrase (2 to 80 characters) said at least
/// four times in a row, as a small model does when it cannot stop ("R&D, R&D, R&D, R&D").
enum Repetition {
    static func loop(in text: String) -> String? {
        // Ignore what closes the JSON after the loop was cut: quotes, brackets, spaces.
        let closing: Set<Character> = ["\"", "}", "]", " ", "\n", ","]
        let body = Array(text.reversed().drop { closing.contains($0) }.reversed())
        for period in 2...80 where body.count >= period * 4 {
            let tail = body[(body.count - period)...]
            let repeats = (1..<4).allSatisfy { copy in
                body[(body.count - period * (copy + 1))..<(body.count - period * copy)].elementsEqual(tail)
            }
            guard repeats && Set(tail).count > 1 else { continue }
            // The phrase as a person would quote it: "R&D", not ", R&D".
            let phrase = String(tail).split(whereSeparator: { $0 == "," || $0 == " " }).joined(separator: " ")
            return phrase.isEmpty ? String(tail) : phrase
        }
        return nil
    }
}
