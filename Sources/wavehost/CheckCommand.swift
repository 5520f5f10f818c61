import ArgumentParser
import Host

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run the conformance suite on a plugin.",
        discussion: """
            Loads the plugin, creates it with its example config, runs its declared \
            examples, feeds it hostile inputs (empty, invalid JSON, non-UTF-8, 1 MiB, \
            deep nesting), checks every output is valid JSON and released, and calls a \
            thread-safe actor from several threads. Prints a line per check; exits 4 \
            if any check fails.
            """
    )

    @Argument(help: "The plugin's shared library (.so).")
    var path: String

    @OptionGroup var cache: CacheOptions

    func run() throws {
        var failures = 0
        var total = 0
        let passed = ConformanceCheck(path: path, loader: cache.loader).run { result in
            total += 1
            if !result.passed { failures += 1 }
            print("\(result.passed ? "PASS" : "FAIL")  \(result.name): \(result.detail)")
            fflush(nil)  // one line per check as it finishes, even when piped
        }
        print("\(total - failures) passed, \(failures) failed")
        if !passed { throw ExitStatus.checkFailed }
    }
}

#if canImport(Glibc)
import Glibc
#endif
