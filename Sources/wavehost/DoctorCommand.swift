import ArgumentParser
import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostSandbox

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show which sandbox layers hold on this machine, what each missing one means, and where Wavehost keeps things.",
        discussion: """
            A required layer that does not hold makes Wavehost refuse untrusted actors; \
            --allow-weak-sandbox LAYER (on invoke, run, serve) accepts the weaker sandbox knowingly. \
            Exits 0 when every required layer holds, 1 otherwise.
            """
    )

    @OptionGroup var cache: CacheOptions

    /// What the loss of each layer means, in one line (docs/sandbox.md has the long form).
    static let meaning: [String: String] = [
        "die-with-host": "a killed host could leave workers running",
        "user-namespace": "without root, the PID and network namespaces below cannot be made",
        "pid-namespace": "an actor's processes could outlive its call and signal the host or other workers",
        "network-namespace": "an actor without a network grant could reach the network and loopback services",
        "identity": "as root, the actor would run as root (reads of /etc/shadow, signals to every process)",
        "capabilities": "the actor would keep capabilities (mount, raw sockets, device access…)",
        "tree-limits": "forked children could together exceed the memory and process limits",
        "rlimits": "no bound on memory, CPU, open files or file size",
        "filesystem": "the actor could read your files (the database, keys) and write outside scratch",
        "landlock-scoping": "signals and abstract Unix sockets would not be confined to the worker by Landlock (the PID namespace still confines signals)",
        "no-new-privileges": "a setuid program could raise the actor's privileges",
        "syscall-filter": "io_uring, TIOCSTI, mknod, ptrace, bpf, namespaces… would all be open to the actor",
    ]

    func run() throws {
        let worker = WorkerPool.defaultWorkerPath
        print("worker        \(worker)")
        print("plugin cache  \(cache.directory ?? PluginCache.defaultDirectory)")
        print("running as    \(geteuid() == 0 ? "root: each pool gets its own uid from \(WorkerIdentity.defaultRange)" : "uid \(geteuid()): workers use a user namespace")")
        print("sandbox layers (for an actor without a network grant):")
        let layers: [(layer: String, status: String)]
        do { layers = try SandboxProbe.layers(workerPath: worker) } catch {
            printError("error: \(error)")
            throw ExitStatus.pluginError
        }
        var refusal: String?
        for (layer, status) in layers {
            if layer == "refusal" { refusal = status == "null" ? nil : status; continue }
            print("  \(layer.padding(20))\(status)")
            if !status.hasPrefix("ok"), let meaning = Self.meaning[layer] {
                print("  \("".padding(20))missing means: \(meaning)")
            }
        }
        if let refusal {
            print("verdict: untrusted actors are refused here: \(refusal)")
            throw ExitStatus.actorFailed
        }
        print("verdict: every required layer holds")
    }
}
