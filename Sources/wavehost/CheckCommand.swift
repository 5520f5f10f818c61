import ArgumentParser
import Foundation
import WavehostEngine
import WavehostHash
import WavehostPlugins

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run the conformance suite on a plugin.",
        discussion: """
            Loads the plugin, creates it with its example config, runs its declared \
            examples, feeds it hostile inputs (empty, invalid JSON, non-UTF-8, 1 MiB, \
            deep nesting) and checks every output is valid JSON. An untrusted plugin is \
            checked in sandboxed workers, so a crash or a hang fails a check and nothing \
            else. A trusted build (--trust HASH, or approved with `wavehost plugins approve`) \
            is checked in a child process that maps it, which also checks that every output \
            is released and that a thread-safe actor is. Prints a line per check; exits 4 if \
            any check fails.
            """
    )

    @Argument(help: "The plugin's shared library (.so).")
    var path: String

    @Flag(help: "Run the checks in this process (to debug a trusted plugin under gdb); a crash then ends the check.")
    var inProcess = false

    @Option(help: "The store whose approved hashes count as trusted. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db if it exists.")
    var database: String?

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    func run() throws {
        let loader = cache.loader(trust: trust.trust(database: database))
        let passed: Bool
        if inProcess {
            passed = runChecks(loader, mode: .inProcess)
        } else {
            // Trust decides where the plugin's code runs: a child that maps it, or workers.
            let sha = ContentHash.sha256(ofFile: path)
            let trusted: Bool
            do { trusted = try sha.map(loader.trust.trusts) ?? false } catch { throw fail(error) }
            passed = trusted ? try runChecksInChild(trusting: sha!) : runChecks(loader, mode: .workers)
        }
        if !passed { throw ExitStatus.checkFailed }
    }

    /// Runs the suite here, printing a line per check and a closing count.
    private func runChecks(_ loader: PluginLoader, mode: ConformanceCheck.Mode) -> Bool {
        var failures = 0
        var total = 0
        let passed = ConformanceCheck(path: path, loader: loader, mode: mode).run { result in
            if result.skipped {
                print("SKIP  \(result.name): \(result.detail)")
                fflush(nil)
                return
            }
            total += 1
            if !result.passed { failures += 1 }
            print(Self.line(result.passed, result.name, result.detail))
            fflush(nil)  // one line per check as it finishes, even when piped
        }
        print("\(total - failures) passed, \(failures) failed")
        return passed
    }

    /// Runs the suite in a child `wavehost plugins check --in-process`, relaying its lines;
    /// if the child dies, reports the crash as a failed check after the last one it finished.
    private func runChecksInChild(trusting sha: String) throws -> Bool {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["plugins", "check", "--in-process", path, "--trust", sha,
                           "--describe-timeout", String(cache.describeTimeout)] + (cache.directory.map { ["--cache-dir", $0] } ?? [])
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // the crash is the plugin's; skip the host's backtrace
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        try child.run()

        var lastCheck = "starting"
        var lines: [Substring] = []
        var pending = Data()
        while case let chunk = output.fileHandleForReading.availableData, !chunk.isEmpty {
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                print(line)
                fflush(nil)
                lines.append(Substring(line))
                if let name = Self.checkName(line) { lastCheck = name }
            }
        }
        child.waitUntilExit()
        guard child.terminationReason == .uncaughtSignal else { return child.terminationStatus == 0 }
        let signal = child.terminationStatus
        let passedCount = lines.filter { $0.hasPrefix("PASS") }.count
        let failedCount = lines.filter { $0.hasPrefix("FAIL") }.count + 1
        print(Self.line(false, "no crash", "the plugin crashed the checker with signal \(signal) (\(Self.signalName(signal))) " +
                        "in the step after \"\(lastCheck)\""))
        print("\(passedCount) passed, \(failedCount) failed")
        return false
    }

    private static func line(_ passed: Bool, _ name: String, _ detail: String) -> String {
        "\(passed ? "PASS" : "FAIL")  \(name): \(detail)"
    }

    /// The check name in a result line: `PASS  name: detail` or `PASS  example "name": detail`.
    private static func checkName(_ line: String) -> String? {
        guard line.hasPrefix("PASS  ") || line.hasPrefix("FAIL  ") else { return nil }
        let rest = line.dropFirst(6)
        let end = rest.contains("\"") ? rest.range(of: "\": ").map { rest.index(after: $0.lowerBound) }
                                       : rest.range(of: ": ")?.lowerBound
        return end.map { String(rest[..<$0]) }
    }

    private static func signalName(_ signal: Int32) -> String {
        guard let name = strsignal(signal) else { return "unknown signal" }
        return String(cString: name)
    }
}
