import ActorKit

/// Runs a compliance suite against one agent (an HTTP service) and reports, for every phase
/// of the suite, in suite order, how many of its steps passed and why the others failed.
///
/// Config: `{"suite": "/abs/path/suite.json", "timeout_ms": 5000}` — the suite is read and
/// checked at create (docs/compliance.md, "The suite"); `timeout_ms` is each request's limit.
/// Input:  the workflow's composed input `{"subject": {"agent": NAME, "url": "http://127.0.0.1:PORT"}, …}`,
///         or `{"agent": NAME, "url": URL}` (for `wavehost invoke`).
/// Output: `{"agent", "url", "suite", "started_at", "finished_at",
///           "results": [{"key": "storyboard/phase", "storyboard", "phase", "passed", "total",
///                        "failures": [{"step", "reason"}]}]}`.
/// Whatever the agent does — refuse connections, time out, answer garbage — is a failed step
/// with its reason. Only the host failing the checker is an error: no HTTP service, or a request
/// the host refuses (the variant's grant does not name the agent: the operator's fault, which
/// must not be recorded as the agent's).
final class ComplianceChecker: JSONActor {
    private static let exampleSuite: JSON = [
        "suite": "example",
        "storyboards": [["name": "identity", "phases": [["name": "discovery", "steps": [
            ["name": "card", "request": ["method": "GET", "path": "/.well-known/agent.json"], "expect": ["status": 200]],
        ]]]]],
    ]

    static let info = ActorInfo(
        name: "compliance-checker",
        version: "1.0.0",
        kind: .checker,
        capabilities: [.threadSafe],
        description: "Runs a compliance suite of HTTP checks against an agent and reports each phase's passed steps and failures.",
        configSchema: [
            "type": "object", "required": ["suite"], "additionalProperties": false,
            "properties": [
                "suite": ["type": ["string", "object"]],
                "timeout_ms": ["type": "integer", "minimum": 1],
            ],
        ],
        inputSchema: [
            "type": "object",
            "properties": [
                "subject": ["type": "object", "properties": ["agent": ["type": "string"], "url": ["type": "string"]]],
                "agent": ["type": "string"], "url": ["type": "string"],
            ],
        ],
        outputSchema: [
            "type": "object", "required": ["agent", "url", "suite", "started_at", "finished_at", "results"],
            "properties": ["results": ["type": "array", "items": [
                "type": "object", "required": ["key", "storyboard", "phase", "passed", "total", "failures"],
            ]]],
        ],
        examples: [
            // Refused before any request, so the check needs no network.
            .init("no agent url", config: ["suite": exampleSuite], input: ["subject": ["agent": "a1"]], expectsError: true),
            .init("an agent url that is not http", config: ["suite": exampleSuite],
                  input: ["subject": ["agent": "a1", "url": "ftp://127.0.0.1/"]], expectsError: true),
            .init("a subject that is not an object", config: ["suite": exampleSuite], input: ["subject": "a1"], expectsError: true),
        ]
    )

    private let suite: Suite
    private let timeoutMilliseconds: Int
    private let host: HostServices

    init(config: JSON, host: HostServices) throws(ActorError) {
        guard let members = config.objectValue else { throw .invalidConfig("config must be a JSON object") }
        if let unknown = members.first(where: { !["suite", "timeout_ms"].contains($0.key) }) {
            throw .invalidConfig("unknown option \"\(unknown.key)\" (known: suite, timeout_ms)")
        }
        suite = try Suite.load(config["suite"])
        if let value = config["timeout_ms"] {
            guard let milliseconds = value.intValue, milliseconds > 0 else { throw .invalidConfig("\"timeout_ms\" must be a positive integer") }
            timeoutMilliseconds = milliseconds
        } else {
            timeoutMilliseconds = 5_000
        }
        self.host = host
    }

    func handle(_ input: JSON) throws(ActorError) -> JSON {
        let (agent, url) = try Self.agent(input)
        guard host.offersHTTP else {
            throw .failed("this host offers no HTTP service, through which the checker reaches agents (a host of this version does)")
        }
        let startedAt = UTCTime.now()
        var results: [JSON] = []
        for board in suite.storyboards {
            for phase in board.phases {
                var failures: [JSON] = []
                for step in phase.steps {
                    let reason: String?
                    do { reason = try StepRun(step: step, baseURL: url, timeoutMilliseconds: timeoutMilliseconds).run(host) } catch {
                        throw .failed("the host refused a request of step \"\(step.name)\" (\(board.name)/\(phase.name)): \(error.message); "
                            + "grant the agent's address to the variant: network: {allow: [\"127.0.0.1\"], schemes: [http]}")
                    }
                    if let reason { failures.append(["step": .string(step.name), "reason": .string(reason)]) }
                }
                results.append([
                    "key": .string("\(board.name)/\(phase.name)"), "storyboard": .string(board.name), "phase": .string(phase.name),
                    "passed": .integer(phase.steps.count - failures.count), "total": .integer(phase.steps.count),
                    "failures": .array(failures),
                ])
            }
        }
        return [
            "agent": agent.map(JSON.string) ?? .null, "url": .string(url), "suite": .string(suite.name),
            "started_at": .string(startedAt), "finished_at": .string(UTCTime.now()), "results": .array(results),
        ]
    }

    /// The agent's name and base URL (no trailing "/"): `subject.url`, else a top-level `url`.
    private static func agent(_ input: JSON) throws(ActorError) -> (String?, String) {
        guard input.objectValue != nil else { throw .invalidInput("input must be a JSON object, not \(input.typeName)") }
        var source = input
        if let subject = input["subject"] {
            guard subject.objectValue != nil else { throw .invalidInput("subject must be an object with the agent's url, not \(subject.typeName)") }
            if subject["url"] != nil { source = subject }
        }
        guard let url = source["url"]?.stringValue else {
            throw .invalidInput("the input names no agent url: give subject.url (or url), e.g. \"http://127.0.0.1:8080\"")
        }
        let rest: Substring
        if url.hasPrefix("http://") { rest = url.dropFirst(7) } else if url.hasPrefix("https://") { rest = url.dropFirst(8) } else {
            throw .invalidInput("agent url \"\(url)\" must start with http:// or https://")
        }
        let authority = rest.prefix { $0 != "/" }
        guard !authority.isEmpty, !url.contains("?"), !url.contains("#"), !url.contains(where: \.isWhitespace) else {
            throw .invalidInput("agent url \"\(url)\" is not a base URL such as http://127.0.0.1:8080 (a host, no query or fragment)")
        }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let name = input["subject"]?["agent"]?.stringValue ?? input["agent"]?.stringValue
        return (name, base)
    }
}

@_cdecl("wavehost_actor_entry")
public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
    -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(ComplianceChecker.self, abiVersion, speaks) }

// `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
