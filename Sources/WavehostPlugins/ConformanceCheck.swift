import CWavehostShims
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
    /// Calls made per instance by the leak and concurrency checks.
    public var repetitions = 1000
    /// The deadline of each call in a worker.
    public var callTimeout: Duration = .seconds(10)

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

        let plugin: LoadedPlugin
        do { plugin = try loader.load(path) } catch {
            record("loads", false, "\(error.code): \(error.message)")
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

        let defaultConfig = info.examples.first?.config ?? [:]
        let instance: ActorInstance
        do {
            instance = try plugin.makeInstance(config: defaultConfig.bytes)
            record("creates with its example config", true, defaultConfig.text)
        } catch {
            record("creates with its example config", false, error.message)
            return false
        }

        for example in info.examples {
            let (passed, detail) = runExample(example, plugin: plugin)
            record("example \"\(example.name)\"", passed, detail)
        }
        for hostile in HostileInput.all {
            let (passed, detail) = hostile.check(instance)
            record("hostile input \"\(hostile.name)\"", passed, detail)
        }
        // Without a declared example, `{}` with the default config stands in.
        let example = info.examples.first { !$0.expectsError }
            ?? ActorDescription.Example(name: "empty object", config: defaultConfig, input: [:], output: nil, expectsError: false)
        let (released, releaseDetail) = checkReleases(plugin: plugin, example: example)
        record("releases every output", released, releaseDetail)
        if info.capabilities.contains(.threadSafe) {
            let (passed, detail) = checkConcurrency(plugin: plugin, example: example)
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

    private func runExample(_ example: ActorDescription.Example, plugin: LoadedPlugin) -> (Bool, String) {
        let instance: ActorInstance
        do { instance = try plugin.makeInstance(config: example.config.bytes) } catch {
            return (false, "create failed: \(error.message)")
        }
        do { return Self.judge(example, .success(try instance.invoke(example.input.bytes))) } catch {
            return Self.judge(example, .failure(error))
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
                return error.message.isEmpty ? (false, "refused without a message") : (true, "refused: \(error.message)")
            }
            return (false, error.description)
        }
    }

    /// Heap in use must not grow with the number of calls: each reply was released
    /// and the plugin's release really freed it. The heap is the whole process's, so
    /// run the suite in a process of its own (as `wavehost plugins check` does); the
    /// smallest growth of several rounds counts, so stray allocations fail nothing.
    private func checkReleases(plugin: LoadedPlugin, example: ActorDescription.Example) -> (Bool, String) {
        let instance: ActorInstance
        do { instance = try plugin.makeInstance(config: example.config.bytes) } catch { return (false, "create failed: \(error.message)") }
        let input = example.input.bytes
        // Memory is measured here, not answers (the example's own check judges those): a refusal counts too.
        for _ in 0..<100 { _ = try? instance.invoke(input) }  // warm caches and arenas
        var growth = Int.max
        for _ in 0..<5 {
            let before = wh_shim_heap_in_use()
            for _ in 0..<repetitions { _ = try? instance.invoke(input) }
            growth = min(growth, Int(wh_shim_heap_in_use()) - Int(before))
        }
        let perCall = Double(max(growth, 0)) / Double(repetitions)
        return perCall < 16
            ? (true, "heap grew \(max(growth, 0)) bytes over \(repetitions) calls")
            : (false, "heap grew \(growth) bytes over \(repetitions) calls (\(Int(perCall)) per call): outputs leak")
    }

    /// Calls one instance from several threads at once; every outcome (answer or
    /// refusal) must be the one a single call gives.
    private func checkConcurrency(plugin: LoadedPlugin, example: ActorDescription.Example) -> (Bool, String) {
        let instance: ActorInstance
        do { instance = try plugin.makeInstance(config: example.config.bytes) } catch { return (false, "create failed: \(error.message)") }
        let input = example.input.bytes
        @Sendable func outcome() -> String {
            do { return String(decoding: try instance.invoke(input), as: UTF8.self) } catch { return "refused: \(error.message)" }
        }
        let expected = outcome()
        let threads = 4
        let calls = repetitions / threads
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
