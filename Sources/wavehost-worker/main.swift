// wavehost-worker: runs one actor (or one script) inside the sandbox, for one host.
// Kept small and free of Foundation so it starts in a few milliseconds.
//
//   wavehost-worker serve --plugin PATH --scratch DIR [LIMITS]   (the host's socket is fd 3)
//   wavehost-worker exec  --scratch DIR [LIMITS] -- PROGRAM [ARG...]
//   wavehost-worker probe --scratch DIR [LIMITS]                 (prints the layers as JSON)
// LIMITS: --limit-as BYTES --limit-cpu SECONDS --limit-files N --limit-output BYTES
//         --limit-input BYTES --network
import ActorRuntime
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

func die(_ message: String, status: Int32 = 2) -> Never {
    var line = "wavehost-worker: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else { die("usage: wavehost-worker serve|exec|probe --scratch DIR [options]") }
arguments.removeFirst()

let command: [String]
if let separator = arguments.firstIndex(of: "--") {
    command = Array(arguments[(separator + 1)...])
    arguments = Array(arguments[..<separator])
} else {
    command = []
}

let limits: SandboxLimits
do { (limits, arguments) = try SandboxLimits.parse(arguments) } catch { die(error.description) }

@MainActor func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

guard let scratch = option("--scratch") else { die("--scratch DIR is required") }
let layers = SandboxLayers.apply(limits, scratch: scratch)

switch mode {
case "serve":
    guard let plugin = option("--plugin") else { die("serve needs --plugin PATH") }
    Server(socket: 3, pluginPath: plugin, limits: limits, layers: layers).run()
case "exec":
    guard let program = command.first else { die("exec needs -- PROGRAM [ARG...]") }
    setenv("TMPDIR", scratch, 1)
    var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    execvp(program, &argv)
    die("cannot run \(program): \(String(cString: strerror(errno)))", status: 127)
case "probe":
    print(layers.json.text)
case "describe":
    guard let plugin = option("--plugin") else { die("describe needs --plugin PATH") }
    Describe.run(pluginPath: plugin)
default:
    die("unknown mode \(mode); expected serve, exec or probe")
}
