import ActorABI
import ArgumentParser
import Foundation
import Synchronization
import WavehostEngine
import WavehostJSON
import WavehostPlugins
import WavehostSandbox

struct InvokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Run an actor (a plugin or a script) once on one input.",
        discussion: """
            Plugins run in a sandboxed worker process unless --isolation inprocess is given, \
            which only a trusted build may use (--trust HASH, or a hash approved with \
            `wavehost plugins approve`); scripts always run sandboxed. Prints the actor's output on stdout; a refusal, failure, crash \
            or timeout goes to stderr with exit status 1.
            """
    )

    @Argument(help: "The plugin's shared library (.so).")
    var path: String

    @Option(help: "The input: JSON text, @FILE to read a file, or @- for stdin.")
    var input: String

    @Option(help: "The config: JSON text, @FILE or @-. Defaults to {}.")
    var config: String = "{}"

    @Option(help: ArgumentHelp("Where the actor runs: process (a sandboxed worker) or inprocess (trusted actors only).",
                               valueName: "isolation"))
    var isolation: Isolation = .process

    @Option(help: "Seconds the call may take: then the worker is killed (process isolation, scripts), or wavehost exits (inprocess, whose call cannot be stopped).")
    var timeout: Double = 30

    @Option(help: ArgumentHelp("Sandbox limits as JSON, e.g. '{\"memory_mb\":256,\"cpu_seconds\":10,\"output_bytes\":1048576}'.",
                               valueName: "json"))
    var limits: String?

    @Flag(help: "Indent the output.")
    var pretty = false

    @Option(help: "The store whose approved hashes count as trusted. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db if it exists.")
    var database: String?

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    @OptionGroup var sandbox: SandboxOptions

    @Option(name: .customLong("network-allow"),
            help: ArgumentHelp("Grant the network to an actor that declares it: a host, *.domain or address, with an optional :port (repeatable).",
                               valueName: "host"))
    var networkAllow: [String] = []

    enum Isolation: String, ExpressibleByArgument, CaseIterable {
        case process, inprocess
    }

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let inputBytes = try Self.bytes(of: input, option: "--input")
        let configBytes = try Self.bytes(of: config, option: "--config")
        let output: [UInt8]
        do {
            output = try call(inputBytes, config: configBytes)
        } catch let error as PluginError {
            throw fail(error)
        } catch let error as SandboxFailure where error.code == .startFailed {
            printError("error: \(error)")
            throw ExitStatus.pluginError
        } catch {
            printError("error: \(error)")
            throw ExitStatus.actorFailed
        }
        if pretty, let value = try? JSON.parse(output) {  // output that is not JSON is printed as it came
            print(value.prettyText)
        } else {
            print(String(decoding: output, as: UTF8.self))
        }
    }

    /// Runs the plugin or script once, in the chosen isolation.
    private func call(_ input: [UInt8], config: [UInt8]) throws -> [UInt8] {
        let limit = Duration.milliseconds(Int64(timeout * 1000))
        var configuration = WorkerPool.Configuration()
        if let limits {
            do { configuration.limits = try SandboxLimits(json: try JSON.parse(limits)) } catch {
                throw ValidationError("--limits: \(error)")
            }
        }
        sandbox.apply(to: &configuration)
        if !networkAllow.isEmpty {
            do { configuration.networkGrant = try NetworkGrant(allow: networkAllow, schemes: NetworkGrant.knownSchemes) } catch {
                throw ValidationError("--network-allow: \(error)")
            }
        }
        if !Self.isSharedObject(path) {
            guard isolation == .process else { throw ValidationError("scripts always run in a sandboxed process") }
            return try ScriptActor(path: path, cache: cache.loader.cache, configuration: configuration).invoke(input, timeout: limit)
        }
        // The descriptor is read in a sandboxed worker: nothing of the plugin runs here yet.
        let plugin = try cache.loader(trust: trust.trust(database: database)).load(path)
        switch isolation {
        case .inprocess:
            // A config that is not JSON names no secrets (and the actor's create refuses it).
            let http = HostHTTP(actor: plugin.name, grant: configuration.networkGrant, responseLimit: configuration.limits.httpResponseBytes,
                                secrets: HostHTTP.secretNames(in: (try? JSON.parse(config)) ?? [:]))
            let instance = try plugin.makeInstance(config: config, http: http)  // refused unless trusted
            return try Self.withDeadline(limit, actor: plugin.name) { () throws(ActorFailure) in try instance.invoke(input) }
        case .process:
            try plugin.verifyCachedCopy()
            if plugin.description.capabilities.contains(.network) && configuration.networkGrant == nil {
                throw PluginError(.createFailed, path: path, NetworkGrant.notGranted(actor: plugin.name))
            }
            let pool = WorkerPool(plugin: plugin, config: config, configuration: configuration) { level, message in
                if level >= WH_LOG_INFO { printError("[\(plugin.name)] \(message)") }
            }
            defer { pool.shutdown() }
            return try pool.invoke(input, timeout: limit)
        }
    }

    /// Runs an in-process call on a thread of its own and waits `limit` for it. A late call
    /// cannot be stopped in this process, so past the deadline wavehost says so and exits.
    static func withDeadline(_ limit: Duration, actor: String, _ call: @escaping @Sendable () throws(ActorFailure) -> [UInt8])
        throws(ActorFailure) -> [UInt8]
    {
        final class Outcome: Sendable { let result = Mutex<Result<[UInt8], ActorFailure>?>(nil) }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Thread {
            let result: Result<[UInt8], ActorFailure>
            do throws(ActorFailure) { result = .success(try call()) } catch { result = .failure(error) }
            outcome.result.withLock { $0 = result }
            done.signal()
        }.start()
        let (seconds, attoseconds) = limit.components
        guard done.wait(timeout: .now() + .milliseconds(Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))) == .success else {
            printError("error: actor \(actor): timed out: no answer within \(limit) (--timeout). An in-process call cannot "
                       + "be stopped, so wavehost exits; in a sandboxed worker (--isolation process) the worker is killed instead")
            Glibc.exit(ExitStatus.actorFailed.rawValue)
        }
        return try outcome.result.withLock { $0! }.get()
    }

    /// Whether `path` is a plugin rather than a script: an ELF file, or a path the loader
    /// cannot read (so the loader names that fault).
    static func isSharedObject(_ path: String) -> Bool {
        access(path, R_OK) != 0 || PluginImage.hasELFMagic(path)
    }

    /// Reads `JSON`, `@file` or `@-` into bytes.
    static func bytes(of argument: String, option: String) throws -> [UInt8] {
        guard argument.hasPrefix("@") else { return Array(argument.utf8) }
        let file = String(argument.dropFirst())
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data else { throw ValidationError("\(option): cannot read \(file)") }
        return Array(data)
    }
}
