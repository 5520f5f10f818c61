import ArgumentParser
import Host

/// Where loaded plugins are copied (content-addressed), shared by every command that loads.
struct CacheOptions: ParsableArguments {
    @Option(name: .customLong("cache-dir"), help: ArgumentHelp(
        "Folder of content-addressed plugin copies.",
        discussion: "Defaults to $WAVEHOST_CACHE_DIR, else ~/.cache/wavehost/plugins."))
    var directory: String?

    var loader: PluginLoader {
        PluginLoader(cache: PluginCache(directory: directory ?? PluginCache.defaultDirectory))
    }
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
