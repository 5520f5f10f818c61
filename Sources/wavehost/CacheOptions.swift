import Foundation
import ArgumentParser
import WavehostEngine
import WavehostPlugins
import WavehostStore

/// Where loaded plugins are copied (content-addressed), shared by every command that loads.
struct CacheOptions: ParsableArguments {
    @Option(name: .customLong("cache-dir"), help: ArgumentHelp(
        "Folder of content-addressed plugin copies.",
        discussion: "Defaults to $WAVEHOST_CACHE_DIR, else ~/.cache/wavehost/plugins. It must be yours and writable by no one else."))
    var directory: String?

    @Option(name: .customLong("describe-timeout"), help: ArgumentHelp(
        "Seconds a sandboxed worker may take to load a plugin and read its descriptor.", valueName: "seconds"))
    var describeTimeout: Double = 5

    var loader: PluginLoader { loader(trust: PluginTrust()) }

    /// `--cache-dir` from where the command was run: workers start in their own folders, so a
    /// relative path would name a different (missing) cache for them.
    private var absoluteDirectory: String? {
        directory.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
    }

    func loader(trust: PluginTrust) -> PluginLoader {
        PluginLoader(cache: PluginCache(directory: absoluteDirectory ?? PluginCache.defaultDirectory), trust: trust,
                     describer: DescriptorWorker(timeout: .milliseconds(Int64(max(describeTimeout, 0.01) * 1000))))
    }
}

/// Which plugin versions may run in the host process: never one by default.
struct TrustOptions: ParsableArguments {
    @Option(name: .customLong("trust"), help: ArgumentHelp(
        "Trust the plugin build with this SHA-256 to run in this process (isolation: inprocess); repeatable.",
        discussion: "Hashes approved with `wavehost plugins approve` are trusted too. `wavehost plugins inspect FILE` shows a file's hash.",
        valueName: "sha256"))
    var hashes: [String] = []

    func validate() throws {
        for hash in hashes where !(hash.count == 64 && hash.allSatisfy(\.isHexDigit)) {
            throw ValidationError("--trust \(hash): not a SHA-256 (64 hex digits)")
        }
    }

    /// The hashes given, plus the approvals of the store at `database`, read when a
    /// version asks to run in this process (only if that database exists: none is created).
    func trust(database: String?) -> PluginTrust {
        let location = Store.defaultLocation(database)
        let exists = location.hasPrefix("postgres") || access(location, F_OK) == 0
        guard exists else { return PluginTrust(hashes) }
        let approvals: PluginTrust.Approvals = { try Store(location: location).approvedHashes() }
        return PluginTrust(hashes, approvals: approvals)
    }

    /// The hashes given, plus `store`'s approvals.
    func trust(store: Store) -> PluginTrust {
        PluginTrust(hashes, approvals: { try store.approvedHashes() })
    }
}

/// The catalog `run` and `serve` start from: every plugin and script of `folders` (a file
/// refused there is reported and skipped), read through workers; in-process use only for
/// `trusted` hashes.
func loadCatalog(_ folders: [String], files: [String] = [], cache: CacheOptions, trusted: PluginTrust,
                 sandbox: SandboxOptions) throws(ExitCode) -> ActorCatalog {
    let catalog = ActorCatalog(registry: PluginRegistry(loader: cache.loader(trust: trusted)),
                               workerConfiguration: sandbox.workerConfiguration)
    do {
        for folder in folders {
            for (path, reason) in try catalog.addFolder(folder) { printError("skipped \(path): \(reason)") }
        }
        for file in files { try catalog.add(file) }
    } catch {
        throw fail(error)
    }
    return catalog
}

/// Prints a plugin error to stderr and returns the exit status for it.
func fail(_ error: PluginError) -> ExitCode {
    printError("error: \(error)")
    return ExitStatus.pluginError
}

func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
