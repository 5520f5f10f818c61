import Foundation
import Testing
@testable import WavehostEngine
import WavehostHash
import WavehostJSON
@testable import WavehostPlugins
@testable import WavehostSandbox
@testable import WavehostStore

/// Code the host was not told to trust never runs in the host process (issue 11, item 1):
/// a library's constructors and destructors run only in workers, whether the host inspects,
/// invokes, checks, scans a folder or hot-reloads it; in-process use needs an explicit trust.
@Suite struct TrustBoundaryTests {
    /// One build of Fixtures/hostile_load.c with `fault`; `marker` is where CTOR_WRITE writes.
    struct Hostile {
        let fault: String
        let path: String
        let marker: String
        /// What loading it in a worker says, when the load is refused.
        var refusal: String? {
            switch fault {
            case "CTOR_HANG": "timed out"
            case "CTOR_CRASH": "killed by signal 11"
            default: nil
            }
        }
    }

    static let faults = ["CTOR_HANG", "CTOR_WRITE", "CTOR_CRASH", "DTOR_CRASH"]

    static func hostile(_ fault: String, name: String = "misbehaving", file: String? = nil) throws -> Hostile {
        let marker = try TestPlugins.temporaryDirectory() + "/constructor-ran-here"
        let path = try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/hostile_load.c",
                                           defines: [fault, "MARKER_PATH=\"\(marker)\"", "ACTOR_NAME=\"\(name)\""],
                                           output: file ?? "lib\(fault.lowercased()).so", flags: ["-std=gnu11"])
        return Hostile(fault: fault, path: path, marker: marker)
    }

    private func wavehost(_ arguments: [String]) throws -> TestPlugins.ProcessResult {
        let cache = try TestPlugins.temporaryDirectory() + "/cache"
        return try TestPlugins.run(TestPlugins.cli, arguments + ["--cache-dir", cache, "--describe-timeout", "1"])
    }

    // MARK: - inspect, invoke, check

    @Test(arguments: faults)
    func inspectInvokeAndCheckRunALibrarysLoadCodeOnlyInWorkers(_ fault: String) throws {
        let bad = try Self.hostile(fault)
        let inspect = try wavehost(["plugins", "inspect", bad.path])
        let invoke = try wavehost(["invoke", bad.path, "--input", #"{"n":1}"#])
        let check = try wavehost(["plugins", "check", bad.path])
        if let refusal = bad.refusal {
            #expect(inspect.status == 3 && inspect.error.contains(refusal), "\(fault): \(inspect.status) \(inspect.error)")
            #expect(invoke.status == 3 && invoke.error.contains(refusal), "\(fault): \(invoke.status) \(invoke.error)")
            #expect(check.status == 4 && check.output.contains("FAIL  loads: \(bad.path): load failed:") && check.output.contains(refusal),
                    "\(fault): \(check.output)")
        } else {
            // The library loads (in workers) and works; its load-time code ran only there.
            #expect(inspect.status == 0 && inspect.output.contains("name         misbehaving"), "\(fault): \(inspect.error)")
            #expect(invoke.status == 0 && invoke.output == "{\"n\":1}\n", "\(fault): \(invoke.status) \(invoke.error)")
            #expect(check.status == 4, "no examples: \(check.output)")
            #expect(check.output.contains("PASS  creates with its example config"), "\(check.output)")
            #expect(!check.output.contains("no crash"), "\(check.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: bad.marker), "\(fault): the constructor's write happened outside a worker")
    }

    /// The marker test proves something only if the fixture really writes when it runs
    /// unconfined: trusted and mapped in-process, its constructor writes the file.
    @Test func aTrustedBuildRunsInTheHostAndItsConstructorWritesThere() throws {
        let bad = try Self.hostile("CTOR_WRITE", name: "trusted-writer")
        let refused = try wavehost(["invoke", bad.path, "--isolation", "inprocess", "--input", "{}"])
        #expect(refused.status == 3 && refused.error.contains("not trusted"), "\(refused.error)")
        #expect(!FileManager.default.fileExists(atPath: bad.marker))
        let trusted = try wavehost(["invoke", bad.path, "--isolation", "inprocess", "--input", "{}", "--trust", try TestPlugins.sha256(bad.path)])
        #expect(trusted.status == 0, "\(trusted.error)")
        #expect(FileManager.default.fileExists(atPath: bad.marker), "trusted, it ran in the host")
    }

    // MARK: - a folder scan

    /// `run --plugins` over a folder holding a good actor and every hostile build: the bad
    /// files are skipped with their reasons, the good actor's runs all land, the run exits 0.
    @Test func aFolderScanSkipsHostileFilesAndTheGoodActorsRunsAllLand() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let plugins = folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestPlugins.product("EchoC"), toPath: plugins + "/libecho.so")
        var bad: [Hostile] = []
        for fault in Self.faults {
            let hostile = try Self.hostile(fault, name: fault.lowercased().replacingOccurrences(of: "_", with: "-"))
            try FileManager.default.copyItem(atPath: hostile.path, toPath: plugins + "/lib\(fault.lowercased()).so")
            bad.append(hostile)
        }
        try """
            workflow: scan
            steps:
              only: {actor: echo-c, input: subject}
            """.write(toFile: folder + "/scan.yaml", atomically: true, encoding: .utf8)
        try (0..<20).map { #"{"id":"s\#($0)"}"# }.joined(separator: "\n").write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        let result = try wavehost(["run", folder + "/scan.yaml", "--plugins", plugins, "--database", folder + "/wavehost.db",
                                   "--subjects", folder + "/subjects.jsonl", "--key", "id", "--quiet"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("skipped \(plugins)/libctor_hang.so: ") && result.error.contains("timed out"), "\(result.error)")
        #expect(result.error.contains("skipped \(plugins)/libctor_crash.so: ") && result.error.contains("killed by signal 11"), "\(result.error)")
        #expect(!result.error.contains("libctor_write.so") && !result.error.contains("libdtor_crash.so"), "those two load: \(result.error)")
        let store = try Store(location: folder + "/wavehost.db")
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == 20)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status = 'completed'") == 20)
        for hostile in bad { #expect(!FileManager.default.fileExists(atPath: hostile.marker), "\(hostile.fault)") }
    }

    @Test func aFolderScanDescribesEachVersionOnce() throws {
        let folder = try TestPlugins.temporaryDirectory()
        for name in ["EchoC", "JSONTransform"] {
            try FileManager.default.copyItem(atPath: try TestPlugins.product(name), toPath: folder + "/lib\(name).so")
        }
        let catalog = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(shipping: false)))
        #expect(try catalog.addFolder(folder).isEmpty)
        let before = DescriptorWorker.workersStarted
        let again = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(shipping: false)))
        #expect(try again.addFolder(folder).isEmpty)
        #expect(again.names == ["echo-c", "json-transform"])
        #expect(DescriptorWorker.workersStarted == before, "a second scan of the same bytes starts no worker")
    }

    // MARK: - hot reload

    /// Each hostile build hot-reloaded over a serving one: the hanging and crashing ones are
    /// rejected with their reasons and the old build keeps serving; none writes in the host.
    @Test(arguments: faults)
    func aHotReloadedHostileBuildNeverRunsInTheHost(_ fault: String) throws {
        let folder = try TestPlugins.temporaryDirectory()
        let good = try TestPlugins.misbehaving(#"OUTPUT_TAG="good""#, file: "libgood.so")
        let live = folder + "/libversioned.so"
        try HotReloadTests.install(good, at: live)
        let loader = PluginLoader(cache: PluginCache(directory: folder + "/cache"), describer: DescriptorWorker(timeout: .seconds(1)))
        let catalog = ActorCatalog(registry: PluginRegistry(loader: loader))
        try catalog.add(live)
        let store = try EngineFixtures.store(.sqlite)
        let reloader = HotReloader(catalog: catalog, store: store)
        let variant = try EngineFixtures.workflow("workflow: w\nsteps:\n  only: {actor: misbehaving}").steps[0].variants[0]
        let call = ReloadableCall(try catalog.makeCall(variant, concurrency: 1))
        reloader.track(call, variant: variant, concurrency: 1)
        defer { call.retire() }

        let bad = try Self.hostile(fault)
        try HotReloadTests.install(bad.path, at: live)
        let outcome = reloader.handle(path: live)
        guard case .output(let bytes) = call.call(Array(#"{"n":1}"#.utf8), timeout: .seconds(10)) else {
            Issue.record("\(fault): the call failed after the reload (\(outcome))")
            return
        }
        if let refusal = bad.refusal {
            guard case .rejected(_, let sha, let reason) = outcome else { Issue.record("\(fault): \(outcome)"); return }
            #expect(sha == (try TestPlugins.sha256(bad.path)))
            #expect(reason.contains(refusal), "\(fault): \(reason)")
            #expect(try JSON.parse(bytes)["build"] == "good", "the old build keeps serving")
            #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'actor_version_rejected'") == 1)
        } else {
            guard case .swapped = outcome else { Issue.record("\(fault): \(outcome)"); return }
            #expect(String(decoding: bytes, as: UTF8.self) == #"{"n":1}"#, "the new build serves, from a worker")
        }
        #expect(!FileManager.default.fileExists(atPath: bad.marker), "\(fault): the constructor's write happened outside a worker")
    }

    /// Pinning fails closed: approvals that cannot be read, or a file that cannot be read,
    /// reject the new version instead of letting it through unchecked.
    @Test func aReloadThatCannotBeCheckedIsRejected() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let live = folder + "/libversioned.so"
        try HotReloadTests.install(try TestPlugins.misbehaving(#"OUTPUT_TAG="a""#, file: "libA.so"), at: live)
        let catalog = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(shipping: false)))
        try catalog.add(live)
        struct DatabaseDown: Error {}
        let reloader = HotReloader(catalog: catalog, store: nil) { _ in throw DatabaseDown() }
        let buildB = try TestPlugins.misbehaving(#"OUTPUT_TAG="b""#, file: "libB.so")
        try HotReloadTests.install(buildB, at: live)
        guard case .rejected(_, let sha, let reason) = reloader.handle(path: live) else { Issue.record("not rejected"); return }
        #expect(sha == (try TestPlugins.sha256(buildB)))
        #expect(reason.contains("cannot tell whether hash") && reason.contains("DatabaseDown"), "\(reason)")

        try FileManager.default.removeItem(atPath: live)
        let open = HotReloader(catalog: catalog, store: nil)
        guard case .rejected(_, nil, let unreadable) = open.handle(path: live) else { Issue.record("not rejected"); return }
        #expect(unreadable.contains("cannot read the new file"), "\(unreadable)")
        #expect(catalog.registry.plugin(named: "misbehaving")?.sha256 != (try TestPlugins.sha256(buildB)), "build a still serves")
    }

    // MARK: - in-process needs trust

    static let inProcess = """
        workflow: fast
        steps:
          only: {actor: echo-c, isolation: inprocess, input: subject}
        """

    @Test func inProcessIsRefusedWithoutTrustAndRunsWithAnExplicitHash() throws {
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"])
        let sha = try TestPlugins.sha256(try TestPlugins.product("EchoC"))
        #expect {
            try EngineFixtures.run(Self.inProcess, EngineFixtures.subjects(3), store: store, catalog: catalog)
        } throws: { error in
            let error = error as? PluginError
            return error?.code == .notTrusted && error?.message.contains("wavehost plugins approve \(sha)") == true
                && error?.message.contains("--trust \(sha)") == true
        }
        #expect(try store.count("SELECT COUNT(*) FROM interactions") == 0, "refused at start: nothing ran")
        catalog.registry.loader.trust.trust(sha)
        #expect(try EngineFixtures.run(Self.inProcess, EngineFixtures.subjects(3), store: store, catalog: catalog).runsCompleted == 3)
    }

    /// `wavehost run` with an in-process step: refused, then run with --trust, then with
    /// the hash approved in the store.
    @Test func runTrustsOnlyAHashGivenOrApproved() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try Self.inProcess.write(toFile: folder + "/fast.yaml", atomically: true, encoding: .utf8)
        try (0..<3).map { #"{"id":"s\#($0)"}"# }.joined(separator: "\n").write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        let echo = try TestPlugins.product("EchoC")
        let sha = try TestPlugins.sha256(echo)
        func run(_ database: String, _ extra: [String] = []) throws -> TestPlugins.ProcessResult {
            try wavehost(["run", folder + "/fast.yaml", "--actor", echo, "--database", folder + "/" + database,
                          "--subjects", folder + "/subjects.jsonl", "--key", "id", "--quiet"] + extra)
        }
        let refused = try run("refused.db")
        #expect(refused.status == 3, "\(refused.error)")
        #expect(refused.error.contains("not trusted") && refused.error.contains("--trust \(sha)"), "\(refused.error)")
        let trusted = try run("trusted.db", ["--trust", sha])
        #expect(trusted.status == 0, "\(trusted.error)")
        let store = try Store(location: folder + "/approved.db")
        try store.approve(sha, note: "reviewed")
        let approved = try run("approved.db")
        #expect(approved.status == 0, "\(approved.error)")
        #expect(try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == 3)
    }

    // MARK: - the cache

    @Test func aCacheFolderOthersCanWriteIsRefused() throws {
        let folder = try TestPlugins.temporaryDirectory() + "/open-cache"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(chmod(folder, 0o777) == 0)
        let loader = PluginLoader(cache: PluginCache(directory: folder))
        #expect {
            try loader.load(try TestPlugins.product("EchoC"))
        } throws: { error in
            let error = error as? PluginError
            return error?.code == .cacheFailed && error?.message.contains("\(folder) is writable by others (mode 0777)") == true
                && error?.message.contains("chmod go-w \(folder)") == true
        }
        let cli = try TestPlugins.run(TestPlugins.cli, ["plugins", "inspect", try TestPlugins.product("EchoC"), "--cache-dir", folder])
        #expect(cli.status == 3 && cli.error.contains("writable by others"), "\(cli.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "nothing was written into it")
    }

    /// A cached copy changed after the host wrote it is caught by the hash taken right
    /// before use: neither mapped in-process nor handed to a worker (nor to a pool's next
    /// worker); loading the file again replaces the copy.
    @Test func aTamperedCachedCopyIsNeverLoaded() throws {
        let echo = try TestPlugins.product("EchoC")
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        let plugin = try #require(catalog.registry.plugin(named: "echo-c"))
        let impostor = try TestPlugins.misbehaving(#"ACTOR_NAME="echo-c""#)
        // A pool made before the change: its next worker is refused (hashed before each start).
        var configuration = WorkerPool.Configuration()
        configuration.size = 1
        let pool = WorkerPool(plugin: plugin, configuration: configuration)
        #expect(try pool.invoke(Array("[1]".utf8), timeout: .seconds(10)) == Array(#"{"echo":[1],"bytes":3}"#.utf8))
        pool.shutdown()
        #expect(chmod(plugin.cachedPath, 0o755) == 0)
        try Data(contentsOf: URL(fileURLWithPath: impostor)).write(to: URL(fileURLWithPath: plugin.cachedPath))
        #expect(chmod(plugin.cachedPath, 0o555) == 0)
        #expect {
            try plugin.makeInstance()
        } throws: { error in
            let error = error as? PluginError
            return error?.code == .cacheFailed && error?.message.contains("no longer has sha256 \(plugin.sha256)") == true
        }
        #expect {
            try pool.invoke(Array("[1]".utf8), timeout: .seconds(10))
        } throws: { error in
            let error = error as? SandboxFailure
            return error?.code == .startFailed && error?.message.contains("no longer holds the version its name states") == true
        }
        for isolation in ["inprocess", "process"] {
            let variant = try EngineFixtures.workflow("workflow: w\nsteps:\n  only: {actor: echo-c, isolation: \(isolation)}").steps[0].variants[0]
            #expect(throws: PluginError.self, "\(isolation)") { try catalog.makeCall(variant, concurrency: 1) }
        }
        // Loading the file again writes a good copy over the bad one.
        let reloaded = try catalog.registry.loader.load(echo)
        #expect(reloaded.cachedPath == plugin.cachedPath)
        #expect(ContentHash.sha256(ofFile: plugin.cachedPath) == plugin.sha256)
        #expect(String(decoding: try reloaded.makeInstance().invoke(Array("[1]".utf8)), as: UTF8.self) == #"{"echo":[1],"bytes":3}"#)
    }
}
