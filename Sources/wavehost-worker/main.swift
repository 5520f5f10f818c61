// wavehost-worker: runs one actor (or one script) inside the sandbox, for one host.
// Kept small and free of Foundation so it starts in a few milliseconds.
//
//   wavehost-worker serve --plugin PATH --scratch DIR [LIMITS]   (the host's socket is fd 3)
//   wavehost-worker exec  --scratch DIR [LIMITS] -- PROGRAM [ARG...]
//   wavehost-worker probe --scratch DIR [LIMITS]                 (prints the layers as JSON)
//   wavehost-worker zygote                                       (forks a worker per request on fd 3)
// LIMITS: --limit-as BYTES --limit-cpu SECONDS --limit-files N --limit-output BYTES
//         --limit-input BYTES --limit-procs N --limit-fsize BYTES --limit-http-response BYTES --network --read PATH...
//         --uid N --gid N --cgroup NAME (as root) --allow-weak LAYER...
// A required sandbox layer that does not hold makes serve and exec refuse (fail closed)
// unless --allow-weak names it; probe reports every layer either way.
import ActorRuntime
import CWavehostShims
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// When this process reached its own code: the host's spawn, exec and the dynamic loader came before.
let workerStartedAt = monotonicNanoseconds()

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func die(_ message: String, status: Int32 = 2) -> Never {
    var line = "wavehost-worker: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}

/// The command line, and when the worker began: its own, or in a worker the zygote forked,
/// the host's request and the fork. The zygote returns here only in such a child.
let invocation: (arguments: [String], startedAt: UInt64) = {
    let own = Array(CommandLine.arguments.dropFirst())
    guard own.first == "zygote" else { return (own, workerStartedAt) }
    var count: Int32 = 0
    let served = wh_zygote_serve(3, CommandLine.unsafeArgv, CommandLine.argc, &count)
    // It told the host why (which then spawns every worker): nothing to add on stderr.
    if served != 0 { exit(3) }
    let startedAt = monotonicNanoseconds()
    return ((1..<Int(count)).map { String(cString: wh_zygote_argument(Int32($0))) }, startedAt)
}()

// Top-level values are constants: this module runs without Concurrency, so no global may be mutable.
let commandLine = invocation.arguments
guard let mode = commandLine.first else { die("usage: wavehost-worker serve|exec|probe --scratch DIR [options]") }
let separator = commandLine.firstIndex(of: "--")
let command = separator.map { Array(commandLine[($0 + 1)...]) } ?? []
let options = Array(commandLine[1..<(separator ?? commandLine.count)])

let limits: SandboxLimits
let arguments: [String]
do { (limits, arguments) = try SandboxLimits.parse(options) } catch { die(error.description) }

func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

guard let scratch = option("--scratch") else { die("--scratch DIR is required") }
// A script's interpreter must be a system program: resolved before any layer, on system folders only.
let program: String? = mode == "exec" ? command.first.map { name in
    switch SystemProgram.resolve(name) {
    case .success(let path): return path
    case .failure(let reason): die(reason.description, status: 127)
    }
} : nil
let layers = SandboxLayers.apply(limits, scratch: scratch, keepStdio: mode == "exec", startedAt: invocation.startedAt)

switch mode {
case "serve":
    guard let plugin = option("--plugin") else { die("serve needs --plugin PATH") }
    Server(socket: 3, pluginPath: plugin, limits: limits, layers: layers).run()
case "exec":
    guard let program else { die("exec needs -- PROGRAM [ARG...]") }
    if let refusal = layers.refusal { die(refusal, status: 126) }
    // The script is the server of its PID namespace: when it ends, the init ends, and with it everything the script started.
    var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    execv(program, &argv)
    die("cannot run \(program): \(String(cString: strerror(errno)))", status: 127)
case "probe":
    var report = layers.json
    if case .object(var members) = report {
        members.append((key: "refusal", value: layers.refusal.map(JSON.string) ?? .null))
        report = .object(members)
    }
    print(report.text)
case "describe":
    guard let plugin = option("--plugin") else { die("describe needs --plugin PATH") }
    Describe.run(pluginPath: plugin)
default:
    die("unknown mode \(mode); expected serve, exec, probe or describe")
}

/// Programs a script may name as its interpreter: only beneath the system's folders, so a
/// `python3` shim in a home folder (or in the script's own folder) is never what runs.
enum SystemProgram {
    static let folders = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]

    static func resolve(_ name: String) -> Result<String, Failure> {
        if name.contains("/") {
            var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard realpath(name, &resolved) != nil else { return .failure(Failure("interpreter \(name) does not exist")) }
            let path = String(cString: resolved)
            let system = (folders + ["/usr/lib", "/usr/libexec", "/opt/swift"]).contains { path.hasPrefix($0 + "/") }
            return system ? .success(name) : .failure(Failure("interpreter \(name) (\(path)) is not a system program; "
                + "interpreters must live beneath \(folders.joined(separator: ", "))"))
        }
        for folder in folders where access(folder + "/" + name, X_OK) == 0 { return .success(folder + "/" + name) }
        return .failure(Failure("interpreter \(name) is not installed in \(folders.joined(separator: ", "))"))
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
