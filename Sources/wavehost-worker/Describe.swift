import ActorRuntime
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// `wavehost-worker describe --plugin PATH --scratch DIR [LIMITS]`: loads the plugin inside
/// the sandbox (its constructors run here, never in the host), reads and checks its
/// descriptor, prints one JSON line on stdout and exits:
///   {"descriptor": {...}}                       (ActorDescription.json)
///   {"error": {"code": "...", "message": "..."}} (a PluginError's code and message)
enum Describe {
    static func run(pluginPath: String) -> Never {
        // The answer goes to the stdout the host gave; whatever the plugin prints goes to stderr.
        let answer = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 10)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        let reply: JSON
        do {
            let image = try PluginImage(path: pluginPath)
            reply = ["descriptor": image.description.json]
        } catch {
            reply = ["error": ["code": .string("\(error.code)"), "message": .string(error.message)]]
        }
        var bytes = reply.bytes
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(answer, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { _exit(3) }
            offset += written
        }
        // No exit handlers or destructors: the host has its answer, and the image's
        // destructors are the plugin's business in the workers that run it.
        _exit(0)
    }
}
