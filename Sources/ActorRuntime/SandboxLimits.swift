import WavehostJSON

/// The bounds a sandboxed actor runs within. The host passes them to the worker as
/// command-line arguments; the worker applies them before it loads any actor code.
public struct SandboxLimits: Sendable, Equatable {
    /// Address space (RLIMIT_AS); allocation beyond it fails inside the worker.
    public var addressSpaceBytes: UInt64 = 1 << 30
    /// CPU time (RLIMIT_CPU); past it the kernel kills the worker.
    public var cpuSeconds: UInt64 = 300
    /// Open files (RLIMIT_NOFILE).
    public var openFiles: UInt64 = 256
    /// The largest answer accepted; a larger one fails the interaction, whole, unread.
    public var outputBytes: UInt64 = 16 << 20
    /// The largest input sent (guards the worker's memory as outputBytes guards the host's).
    public var inputBytes: UInt64 = 64 << 20
    /// The largest HTTP response body the host fetches for the actor (its HTTP service).
    public var httpResponseBytes: UInt64 = 8 << 20
    /// Processes and threads of the worker's whole tree (a cgroup's pids.max as root;
    /// RLIMIT_NPROC in the worker's own user namespace otherwise).
    public var processes: UInt64 = 64
    /// The largest file the actor may write (RLIMIT_FSIZE).
    public var fileSizeBytes: UInt64 = 1 << 30
    /// Network access: only for actors that declare the network capability and whose
    /// variant grants it (see ``NetworkGrant``).
    public var network = false
    /// Files and folders the actor may read beside the system's (its own file is added
    /// by the host; a variant's `read:` grant adds more).
    public var reads: [String] = []
    /// Environment variables passed from the host (a variant's `environment:` grant).
    public var environment: [String] = []
    /// As root: the uid and gid the worker runs as (one per pool).
    public var uid: UInt32?
    public var gid: UInt32?
    /// As root: the cgroup (v1 memory and pids) holding the worker's tree.
    public var cgroup: String?
    /// Sandbox layers the operator accepted as missing (`--allow-weak-sandbox LAYER`).
    public var weakLayersAccepted: [String] = []

    public init() {}

    /// The JSON keys of ``init(json:)``, as a variant's `limits` object names them.
    public static let jsonKeys = ["memory_mb", "cpu_seconds", "open_files", "output_bytes", "input_bytes", "processes",
                                  "file_size_mb", "http_response_bytes"]

    /// Limits from a config object such as `{"memory_mb": 256, "cpu_seconds": 10}`;
    /// keys left out keep their defaults. The network is not a limit: it follows the
    /// actor's declared capability.
    public init(json: JSON) throws(LimitsError) {
        guard let members = json.objectValue else { throw LimitsError("limits must be a JSON object, found \(json.typeName)") }
        for (key, value) in members {
            guard let number = value.intValue, number > 0 else {
                throw LimitsError("limits.\(key) must be a positive whole number")
            }
            let amount = UInt64(number)
            switch key {
            case "memory_mb": addressSpaceBytes = amount << 20
            case "cpu_seconds": cpuSeconds = amount
            case "open_files": openFiles = amount
            case "output_bytes": outputBytes = amount
            case "input_bytes": inputBytes = amount
            case "processes": processes = amount
            case "file_size_mb": fileSizeBytes = amount << 20
            case "http_response_bytes": httpResponseBytes = amount
            default: throw LimitsError("unknown limit \"\(key)\" (known: \(Self.jsonKeys.joined(separator: ", ")))")
            }
        }
    }

    /// The worker's command-line form.
    public var arguments: [String] {
        var arguments: [String] = ["--limit-as", String(addressSpaceBytes), "--limit-cpu", String(cpuSeconds),
                                   "--limit-files", String(openFiles), "--limit-output", String(outputBytes),
                                   "--limit-input", String(inputBytes), "--limit-procs", String(processes),
                                   "--limit-fsize", String(fileSizeBytes),
                                   "--limit-http-response", String(httpResponseBytes)]
        if network { arguments.append("--network") }
        for path in reads { arguments += ["--read", path] }
        if let uid { arguments += ["--uid", String(uid)] }
        if let gid { arguments += ["--gid", String(gid)] }
        if let cgroup { arguments += ["--cgroup", cgroup] }
        for layer in weakLayersAccepted { arguments += ["--allow-weak", layer] }
        return arguments
    }

    /// Reads the options of ``arguments`` out of `arguments`, leaving the rest in order.
    public static func parse(_ arguments: [String]) throws(LimitsError) -> (SandboxLimits, rest: [String]) {
        var limits = SandboxLimits()
        var rest: [String] = []
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            let field: WritableKeyPath<SandboxLimits, UInt64>?
            switch argument {
            case "--limit-as": field = \.addressSpaceBytes
            case "--limit-cpu": field = \.cpuSeconds
            case "--limit-files": field = \.openFiles
            case "--limit-output": field = \.outputBytes
            case "--limit-input": field = \.inputBytes
            case "--limit-procs": field = \.processes
            case "--limit-fsize": field = \.fileSizeBytes
            case "--limit-http-response": field = \.httpResponseBytes
            case "--network": limits.network = true; continue
            case "--read", "--cgroup", "--allow-weak", "--uid", "--gid":
                guard let text = iterator.next() else { throw LimitsError("\(argument) needs a value") }
                switch argument {
                case "--read": limits.reads.append(text)
                case "--cgroup": limits.cgroup = text
                case "--allow-weak": limits.weakLayersAccepted.append(text)
                default:
                    guard let id = UInt32(text) else { throw LimitsError("\(argument) needs a whole number") }
                    if argument == "--uid" { limits.uid = id } else { limits.gid = id }
                }
                continue
            default: rest.append(argument); continue
            }
            guard let field, let text = iterator.next(), let value = UInt64(text) else {
                throw LimitsError("\(argument) needs a whole number")
            }
            limits[keyPath: field] = value
        }
        return (limits, rest)
    }

    public struct LimitsError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
