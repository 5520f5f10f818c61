import CWavehostShims
import Foundation
import Dispatch
import Synchronization
import WavehostJSON
import WavehostSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The conformance suite a third-party author runs on their plugin
/// (`wavehost plugins check`): it loads the file, creates instances, runs the plugin's
/// own examples and a set of hostile inputs, and checks every answer.
///
/// An untrusted plugin is checked in sandboxed workers (its descriptor read in one, each
/// example and hostile input answered by one): a crash or hang fails a check, nothing
/// else. The heap and thread-safety checks need the library in this process, so they run
/// only for a version the operator trusts (`--trust HASH` or an approved hash).
public struct ConformanceCheck {
    public struct Result: Sendable {
        public let name: String
        public let passed: Bool
        public let detail: String
        /// Not run (e.g. a check that needs the library in this process, for an untrusted one).
        public let skipped: Bool

        public init(name: String, passed: Bool, detail: String, skipped: Bool = false) {
            self.name = name
            self.passed = passed
            self.detail = detail
            self.skipped = skipped
        }
    }

    /// Where the plugin's code runs during the checks.
    public enum Mode: Sendable {
        /// In this process if the loader's trust trusts the version, else in workers.
        case automatic
        /// In this process (trusted versions only: refused otherwise).
        case inProcess
        /// In sandboxed workers.
        case workers
    }

    public let path: String
    public let loader: PluginLoader
    public var mode: Mode
    /// The workers' executable, limits and scratch (worker mode).
    public var workerConfiguration: WorkerPool.Configuration
    /// Calls made per instance by the leak and concurrency checks (fewer for a slow actor,
    /// so that each check stays within `checkBudget`).
    public var repetitions = 1000
    /// What the leak and concurrency checks may take each, at most, for a slow actor.
    public var checkBudget: Duration = .seconds(20)
    /// The deadline of each call (`plugins check --timeout`): a slower call fails its check.
    public var callTimeout: Duration = .seconds(5)
    /// Called as each check starts, with its name (so a crash can be pinned on it).
    public var starting: (String) -> Void = { _ in }
    /// In this process a call past its deadline cannot be stopped: this reports the check
    /// that overran (its name and why) and must end the process.
    public var overrun: @Sendable (_ check: String, _ detail: String) -> Never = { check, detail in
        preconditionFailure("\(check): \(detail)")
    }

    public init(path: String, loader: PluginLoader = PluginLoader(), mode: Mode = .automatic,
                workerConfiguration: WorkerPool.Configuration = .init())
    {
        self.path = path
        self.loader = loader
        self.mode = mode
        self.workerConfiguration = workerConfiguration
    }

    /// Runs every check, reporting each result as soon as it is known.
    /// Returns whether all passed.
    @discardableResult
    public func run(report: (Result) -> Void) -> Bool {
        var allPassed = true
        func record(_ name: String, _ passed: Bool, _ detail: String) {
            allPassed = allPassed && passed
            report(Result(name: name, passed: passed, detail: detail))
        }

        // A script has no descriptor: its own suite, in sandboxed runs only.
        if access(path, R_OK) == 0, !PluginImage.hasELFMagic(path) { return runScript(report: report) }
        let plugin: LoadedPlugin
        starting("loads")
        do { plugin = try loader.load(path) } catch {
            record("loads", false, error.description)
            return false
        }
        let info = plugin.description
        record("loads", true, "\(info.name) \(info.version), ABI v\(info.abiVersion), " +
               "descriptor \(info.descriptorSize) bytes, sha256 \(plugin.sha256.prefix(16))…")
        record("declares examples", !info.examples.isEmpty,
               info.examples.isEmpty ? "no examples: add some so this check can exercise the actor"
                                     : "\(info.examples.count) example(s)")

        let inProcess: Bool
        switch mode {
        case .workers: inProcess = false
        case .inProcess: inProcess = true
        case .automatic:
            do { inProcess = try plugin.trust.trusts(plugin.sha256) } catch {
                record("reads the trusted hashes", false, error.message)
                return false
            }
        }
        if !inProcess { return runInWorkers(plugin, allPassed: allPassed, report: report) }

        let watchdog = CallWatchdog(timeout: callTimeout, overrun: overrun)
        defer { watchdog.stop() }
        let defaultConfig = info.examples.first?.config ?? [:]
        let instance: ActorInstance
        starting("creates with its example config")
        do {
            instance = try watchdog.call("creates with its example config") { () throws(PluginError) in try plugin.makeInstance(config: defaultConfig.bytes) }
            record("creates with its example config", true, defaultConfig.text)
        } catch {
            record("creates with its example config", false, error.message)
            return false
        }

        for example in info.examples {
            let name = "example \"\(example.name)\""
            starting(name)
            let (passed, detail) = runExample(example, plugin: plugin, watchdog: watchdog, check: name)
            record(name, passed, detail)
        }
        for hostile in HostileInput.all {
            let name = "hostile input \"\(hostile.name)\""
            starting(name)
            let (passed, detail) = watchdog.call(name) { hostile.check(instance) }
            record(name, passed, detail)
        }
        // Without a declared example, `{}` with the default config stands in.
        let example = info.examples.first { !$0.expectsError }
            ?? ActorDescription.Example(name: "empty object", config: defaultConfig, input: [:], output: nil, expectsError: false)
        starting("releases every output")
        let (released, releaseDetail) = checkReleases(plugin: plugin, example: example, watchdog: watchdog)
        record("releases every output", released, releaseDetail)
        if info.capabilities.contains(.threadSafe) {
            starting("thread-safe under concurrent calls")
            let (passed, detail) = checkConcurrency(plugin: plugin, example: example, watchdog: watchdog)
            record("thread-safe under concurrent calls", passed, detail)
        }
        return allPassed
    }

    /// The same checks with the plugin's code in sandboxed workers only.
    private func runInWorkers(_ plugin: LoadedPlugin, allPassed: Bool, report: (Result) -> Void) -> Bool {
        var allPassed = allPassed
        func record(_ name: String, _ passed: Bool, _ detail: String) {
            allPassed = allPassed && passed
            report(Result(name: name, passed: passed, detail: detail))
        }
        let info = plugin.description
        let defaultConfig = info.examples.first?.config ?? [:]
        func pool(_ config: JSON) throws(PluginError) -> WorkerPool {
            try plugin.verifyCachedCopy()
            var configuration = workerConfiguration
            configuration.size = 1
            return WorkerPool(plugin: plugin, config: config.bytes, configuration: configuration)
        }
        let main: WorkerPool
        starting("creates with its example config")
        do throws(PluginError) {
            main = try pool(defaultConfig)
            do { try main.warm(1) } catch { throw PluginError(.createFailed, path: plugin.path, error.message) }
            record("creates with its example config", true, "\(defaultConfig.text) (in a sandboxed worker)")
        } catch {
            record("creates with its example config", false, error.message)
            return false
        }
        defer { main.shutdown() }
        for example in info.examples {
            starting("example \"\(example.name)\"")
            let verdict: (Bool, String)
            do throws(PluginError) {
                let examplePool = try pool(example.config)
                defer { examplePool.shutdown() }
                verdict = judgeInWorker(example, examplePool, actor: plugin.name)
            } catch {
                verdict = (false, error.message)
            }
            record("example \"\(example.name)\"", verdict.0, verdict.1)
        }
        for hostile in HostileInput.all {
            starting("hostile input \"\(hostile.name)\"")
            let (passed, detail) = hostile.check(main, timeout: callTimeout)
            record("hostile input \"\(hostile.name)\"", passed, detail)
        }
        let why = "needs the library in this process; trust this build to run it (--trust \(plugin.sha256) or wavehost plugins approve)"
        report(Result(name: "releases every output", passed: true, detail: why, skipped: true))
        if info.capabilities.contains(.threadSafe) {
            report(Result(name: "thread-safe under concurrent calls", passed: true, detail: why, skipped: true))
        }
        return allPassed
    }

    private func judgeInWorker(_ example: ActorDescription.Example, _ pool: WorkerPool, actor: String) -> (Bool, String) {
        do throws(SandboxFailure) {
            return Self.judge(example, .success(try pool.invoke(example.input.bytes, timeout: callTimeout)))
        } catch {
            guard case .actorFailed(let status) = error.code else { return (false, error.message) }
            return Self.judge(example, .failure(ActorFailure(status, actor: actor, message: error.message)))
        }
    }

    private func runExample(_ example: ActorDescription.Example, plugin: LoadedPlugin, watchdog: CallWatchdog,
                            check: String) -> (Bool, String) {
        let instance: ActorInstance
        do { instance = try watchdog.call(check) { () throws(PluginError) in try plugin.makeInstance(config: example.config.bytes) } } catch {
            return (false, "create failed: \(error.message)")
        }
        do { return Self.judge(example, .success(try watchdog.call(check) { () throws(ActorFailure) in try instance.invoke(example.input.bytes) })) } catch {
            return Self.judge(example, .failure(error))
        }
    }

    /// What an author changes when `check` fails, or nil where the failure says it already.
    public static func fix(for check: String, detail: String) -> String? {
        if detail.hasPrefix("timed out") || detail.contains("took longer than its deadline") {
            return "answer within the deadline, or give a slow actor more with --timeout SECONDS"
        }
        switch check {
        case "loads": return "see docs/abi.md §6 (loader errors) for this one"
        case "creates with its example config":
            return "create must accept the config of the first example (or {} without examples), and answer WH_OK"
        case "releases every output": return "free what each reply holds in release, whatever the status (docs/abi.md §4)"
        case "thread-safe under concurrent calls":
            return "guard what invoke changes with a lock, or do not declare WH_CAP_THREAD_SAFE"
        case _ where check.hasPrefix("example "):
            return detail.hasPrefix("expected a refusal")
                ? "refuse this input with a status other than WH_OK (WH_ERR_INVALID_INPUT) and a message, or drop \"error\": true"
                : "make the answer match the example's \"output\", or correct the example (docs/abi.md §5)"
        case _ where check.hasPrefix("hostile input "):
            return "check untrusted input before use (strict JSON and UTF-8, a depth limit: wavehost/actor_json.h's whj_check, "
                + "ActorKit's JSON) and refuse what you cannot use with WH_ERR_INVALID_INPUT and a message"
        default: return nil
        }
    }

    /// Whether an example's outcome is the one it declares: its output, valid JSON, or a
    /// refusal with a message.
    public static func judge(_ example: ActorDescription.Example, _ outcome: Swift.Result<[UInt8], ActorFailure>) -> (Bool, String) {
        switch outcome {
        case .success(let output):
            if example.expectsError { return (false, "expected a refusal, got \(String(decoding: output, as: UTF8.self))") }
            guard let expected = example.output else { return (true, "answered valid JSON") }
            let actual = try? JSON.parse(output)  // not JSON: nil, which matches no expected output
            return actual == expected
                ? (true, "output matches")
                : (false, "expected \(expected.text), got \(String(decoding: output, as: UTF8.self))")
        case .failure(let error):
            if example.expectsError {
                // Only the actor's own status refuses: an answer of WH_OK the host cannot use is not a refusal.
                guard error.status.isRefusal else {
                    return (false, "expected a refusal (a status other than WH_OK), but the actor answered WH_OK: \(error.message)")
                }
                return error.message.isEmpty ? (false, "refused without a message") : (true, "refused: \(error.message)")
            }
            return (false, error.description)
        }
    }

    /// Heap in use must not grow with the number of calls: each reply was released
    /// and the plugin's release really freed it. The heap is the whole process's, so
    /// run the suite in a process of its own (as `wavehost plugins check` does); the
    /// smallest growth of several rounds counts, so stray allocations fail nothing.
    private func checkReleases(plugin: LoadedPlugin, example: ActorDescription.Example, watchdog: CallWatchdog) -> (Bool, String) {
        let check = "releases every output"
        let instance: ActorInstance
        do { instance = try watchdog.call(check) { () throws(PluginError) in try plugin.makeInstance(config: example.config.bytes) } } catch {
            return (false, "create failed: \(error.message)")
        }
        let input = example.input.bytes
        // Results are not judged here (the examples were): only what the heap does. Each
        // call is still under the deadline.
        func call() { watchdog.call(check) { _ = try? instance.invoke(input) } }
        let calls = callsWithinBudget(rounds: 6) { call() }
        for _ in 0..<min(100, calls) { call() }  // warm caches and arenas
        var growth = Int.max
        for _ in 0..<5 {
            let before = wh_shim_heap_in_use()
            for _ in 0..<calls { call() }
            growth = min(growth, Int(wh_shim_heap_in_use()) - Int(before))
        }
        let perCall = Double(max(growth, 0)) / Double(calls)
        return perCall < 16
            ? (true, "heap grew \(max(growth, 0)) bytes over \(calls) calls")
            : (false, "heap grew \(growth) bytes over \(calls) calls (\(Int(perCall)) per call): outputs leak")
    }

    /// How many calls a round of a repeated check makes: `repetitions`, or fewer when one
    /// call (timed once, here) is so slow that `rounds` rounds would pass `checkBudget`.
    private func callsWithinBudget(rounds: Int, _ call: () -> Void) -> Int {
        let clock = ContinuousClock()
        let one = clock.measure(call)
        guard one > .zero else { return repetitions }
        let affordable = Int(checkBudget / (one * rounds))
        return max(min(repetitions, affordable), 10)
    }

    /// Calls one instance from several threads at once; every outcome (answer or
    /// refusal) must be the one a single call gives.
    private func checkConcurrency(plugin: LoadedPlugin, example: ActorDescription.Example, watchdog: CallWatchdog) -> (Bool, String) {
        let check = "thread-safe under concurrent calls"
        let instance: ActorInstance
        do { instance = try watchdog.call(check) { () throws(PluginError) in try plugin.makeInstance(config: example.config.bytes) } } catch {
            return (false, "create failed: \(error.message)")
        }
        let input = example.input.bytes
        @Sendable func outcome() -> String {
            watchdog.call(check) {
                do throws(ActorFailure) { return String(decoding: try instance.invoke(input), as: UTF8.self) } catch { return "refused: \(error.message)" }
            }
        }
        let expected = outcome()
        let threads = 4
        let calls = max(callsWithinBudget(rounds: 1) { _ = outcome() } / threads, 1)
        let mismatches = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<calls where outcome() != expected {
                mismatches.add(1, ordering: .relaxed)
            }
        }
        let wrong = mismatches.load(ordering: .relaxed)
        return wrong == 0
            ? (true, "\(threads) threads × \(calls) calls, every outcome the same")
            : (false, "\(wrong) of \(threads * calls) concurrent calls ended differently")
    }
}

/// Inputs a careless actor mishandles. The actor may refuse each (with a message) or
/// answer it (with valid JSON); it must not crash, hang, or answer garbage.
struct HostileInput {
    let name: String
    let bytes: [UInt8]

    static let all: [HostileInput] = [
        HostileInput(name: "empty", bytes: []),
        HostileInput(name: "invalid JSON", bytes: Array(#"{"unterminated": [1, 2"#.utf8)),
        HostileInput(name: "not an object", bytes: Array("42".utf8)),
        HostileInput(name: "non-UTF-8", bytes: Array(#"{"text": ""#.utf8) + [0xFF, 0xFE, 0xC0, 0x80] + Array(#""}"#.utf8)),
        HostileInput(name: "1 MiB", bytes: Array(#"{"text": ""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 1 << 20)
            + Array(#""}"#.utf8)),
        HostileInput(name: "100,000 levels deep", bytes: Array(repeating: UInt8(ascii: "["), count: 100_000)
            + Array(repeating: UInt8(ascii: "]"), count: 100_000)),
    ]

    /// The same check, answered by a sandboxed worker: a crash or a hang fails it.
    func check(_ pool: WorkerPool, timeout: Duration) -> (Bool, String) {
        do throws(SandboxFailure) {
            let output = try pool.invoke(bytes, timeout: timeout)
            return (true, "answered \(output.count) bytes of valid JSON")
        } catch {
            switch error.code {
            case .actorFailed(.invalidOutput): return (false, error.message)
            case .actorFailed(let status):
                let message = error.message.hasPrefix("\(status): ") ? String(error.message.dropFirst("\(status): ".count)) : ""
                return message.isEmpty ? (false, "refused (\(status)) without a message")
                                       : (true, "refused (\(status)): \(message.prefix(100))")
            default: return (false, error.message)
            }
        }
    }

    func check(_ instance: ActorInstance) -> (Bool, String) {
        do {
            let output = try instance.invoke(bytes)
            return (true, "answered \(output.count) bytes of valid JSON")
        } catch {
            switch error.status {
            case .invalidOutput: return (false, error.message)
            case _ where error.message.isEmpty: return (false, "refused (\(error.status)) without a message")
            default: return (true, "refused (\(error.status)): \(error.message.prefix(100))")
            }
        }
    }
}

/// The per-call deadline of the in-process checks. A call in this process cannot be stopped,
/// so when one overruns, the watchdog reports the check it belongs to and ends the process
/// (`plugins check` runs the in-process suite in a child of its own, whose parent reports it).
final class CallWatchdog: Sendable {
    private struct Watched {
        var calls: [Int: (check: String, deadline: ContinuousClock.Instant)] = [:]
        var next = 0
        var stopped = false
    }
    private let state = Mutex(Watched())
    private let timeout: Duration
    private let overrun: @Sendable (String, String) -> Never

    init(timeout: Duration, overrun: @escaping @Sendable (String, String) -> Never) {
        self.timeout = timeout
        self.overrun = overrun
        Thread { [self] in watch() }.start()
    }

    /// Runs `body` (one call into the plugin) under the deadline, on behalf of `check`.
    func call<T, E: Error>(_ check: String, _ body: () throws(E) -> T) throws(E) -> T {
        let deadline = ContinuousClock.now + timeout
        let id = state.withLock { watched in
            watched.next += 1
            watched.calls[watched.next] = (check, deadline)
            return watched.next
        }
        defer { _ = state.withLock { $0.calls.removeValue(forKey: id) } }
        return try body()
    }

    func stop() { state.withLock { $0.stopped = true } }

    private func watch() {
        while true {
            Thread.sleep(forTimeInterval: 0.02)
            let (stopped, late) = state.withLock { watched in
                let now = ContinuousClock.now
                return (watched.stopped, watched.calls.values.first { $0.deadline < now }?.check)
            }
            if stopped { return }
            if let late {
                overrun(late, "a call took longer than its deadline, \(timeout) (plugins check --timeout); the checker stopped there")
            }
        }
    }
}
