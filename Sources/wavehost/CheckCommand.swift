import ArgumentParser
import Foundation
import Synchronization
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
            deep nesting) and checks every output is valid JSON. An example marked \
            "error": true passes only if the actor refuses it with a status other than WH_OK. \
            Every call has a deadline (--timeout): a slower one fails its check by name. \
            An untrusted plugin is checked in sandboxed workers, so a crash or a hang fails \
            a check and nothing else. A trusted build (--trust HASH, or approved with \
            `wavehost plugins approve`) is checked in a child process that maps it, which \
            also checks that every output is released and that a thread-safe actor is. \
            Prints a line per check, and under each failure what to fix. Exits 3 if there \
            is no plugin file to check, 4 if any check fails.
            """
    )

    @Argument(help: "The plugin's shared library (.so).")
    var path: String

    @Option(help: "Seconds each call may take before its check fails.")
    var timeout: Double = 5

    @Flag(help: "Run the checks in this process (to debug a trusted plugin under gdb); a crash then ends the check.")
    var inProcess = false

    /// Set by the parent for its child: each check's name on a line as it starts, so a crash is pinned on it.
    @Flag(help: .private)
    var reportStarts = false

    @Option(help: "The store whose approved hashes count as trusted. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db if it exists.")
    var database: String?

    @OptionGroup var cache: CacheOptions
    @OptionGroup var trust: TrustOptions

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        // Nothing to check is not a failed check: the same status `invoke` gives a missing plugin.
        guard access(path, R_OK) == 0 else {
            printError("error: \(path): \(String(cString: strerror(errno))) (give the path of the plugin's .so file)")
            throw ExitStatus.pluginError
        }
        let loader = cache.loader(trust: trust.trust(database: database))
        let passed: Bool
        if inProcess {
            passed = runChecks(loader, mode: .inProcess)
        } else {
            // Trust decides where the plugin's code runs: a child that maps it, or workers.
            let sha = ContentHash.sha256(ofFile: path)
            let trusted: Bool
            do { trusted = try sha.map(loader.trust.trusts) ?? false } catch { throw fail(error) }
            if !reportStarts { print("checking \(path)") }
            passed = trusted ? try runChecksInChild(trusting: sha!) : runChecks(loader, mode: .workers)
        }
        if !passed { throw ExitStatus.checkFailed }
    }

    /// Counts shared with the watchdog's thread, which may end the process mid-check.
    private final class Tally: Sendable {
        private let counts = Mutex((passed: 0, failed: 0))
        func add(passed: Bool) { counts.withLock { passed ? ($0.passed += 1) : ($0.failed += 1) } }
        var summary: String { counts.withLock { "\($0.passed) passed, \($0.failed) failed" } }
    }

    /// Runs the suite here, printing a line per check and a closing count.
    private func runChecks(_ loader: PluginLoader, mode: ConformanceCheck.Mode) -> Bool {
        let tally = Tally()
        var check = ConformanceCheck(path: path, loader: loader, mode: mode)
        check.callTimeout = .milliseconds(Int64(timeout * 1000))
        if reportStarts { check.starting = { name in print("START \(name)"); fflush(nil) } }
        check.overrun = { name, detail in
            tally.add(passed: false)
            print(Self.line(false, name, detail))
            print(tally.summary)
            fflush(nil)
            Glibc.exit(ExitStatus.checkFailed.rawValue)  // the late call cannot be stopped; its thread ends with the process
        }
        let passed = check.run { result in
            if result.skipped {
                print("SKIP  \(result.name): \(result.detail)")
                fflush(nil)
                return
            }
            tally.add(passed: result.passed)
            print(Self.line(result.passed, result.name, result.detail))
            fflush(nil)  // one line per check as it finishes, even when piped
        }
        print(tally.summary)
        return passed
    }

    /// Runs the suite in a child `wavehost plugins check --in-process`, relaying its lines;
    /// if the child dies, reports the crash as a failure of the check that was running.
    private func runChecksInChild(trusting sha: String) throws -> Bool {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["plugins", "check", "--in-process", "--report-starts", path, "--trust", sha,
                           "--timeout", String(timeout), "--describe-timeout", String(cache.describeTimeout)]
            + (cache.directory.map { ["--cache-dir", $0] } ?? [])
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // the crash is the plugin's; skip the host's backtrace
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        try child.run()

        var running = "loads"
        var lines: [Substring] = []
        var pending = Data()
        while case let chunk = output.fileHandleForReading.availableData, !chunk.isEmpty {
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasPrefix("START ") {
                    running = String(line.dropFirst(6))
                    continue
                }
                print(line)
                fflush(nil)
                lines.append(Substring(line))
            }
        }
        child.waitUntilExit()
        guard child.terminationReason == .uncaughtSignal else { return child.terminationStatus == 0 }
        let signal = child.terminationStatus
        let passedCount = lines.filter { $0.hasPrefix("PASS") }.count
        let failedCount = lines.filter { $0.hasPrefix("FAIL") }.count + 1
        print(Self.line(false, running, "the plugin crashed the checker with signal \(signal) (\(Self.signalName(signal))) during this check"))
        print("      fix: run it under a debugger: gdb --args wavehost plugins check --in-process --trust \(sha) \(path)")
        print("\(passedCount) passed, \(failedCount) failed")
        return false
    }

    /// A result line and, under a failure, what to change.
    private static func line(_ passed: Bool, _ name: String, _ detail: String) -> String {
        let result = "\(passed ? "PASS" : "FAIL")  \(name): \(detail)"
        guard !passed, let fix = ConformanceCheck.fix(for: name, detail: detail) else { return result }
        return result + "\n      fix: " + fix
    }

    private static func signalName(_ signal: Int32) -> String {
        guard let name = strsignal(signal) else { return "unknown signal" }
        return String(cString: name)
    }
}
