import ActorRuntime
import Foundation
import Synchronization
import Testing
@testable import WavehostEngine
import WavehostHash
import WavehostJSON
@testable import WavehostStore

/// Replacing a plugin file under a running engine: every interaction completes, and the
/// hash recorded on each is the build that answered it; broken builds never serve.
@Suite(.serialized) struct HotReloadTests {
    /// Writes `source` to a temporary name beside `path`, then renames it over `path`, the
    /// way an actor author (or a deploy tool) replaces a plugin.
    static func install(_ source: String, at path: String) throws {
        let temporary = path + ".tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: source, toPath: temporary)
        guard rename(temporary, path) == 0 else { throw TestSetupError("rename: \(String(cString: strerror(errno)))") }
    }

    @Test func twentySwapsUnderLoadLoseNoCallAndRejectedBuildsNeverServe() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let buildA = try TestPlugins.misbehaving(#"OUTPUT_TAG="a""#, file: "libA.so")
        let buildB = try TestPlugins.misbehaving(#"OUTPUT_TAG="b""#, file: "libB.so")
        let wrongABI = try TestPlugins.misbehaving("WRONG_ABI", file: "libwrong.so")
        let truncated = folder + "/libtruncated.so"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: buildB))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let live = folder + "/libversioned.so"
        try Self.install(buildA, at: live)

        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog([], files: [live])
        let reloader = HotReloader(catalog: catalog, store: store)
        let subjects = EngineFixtures.subjects(6000)
        let yaml = """
            workflow: reload
            steps:
              only: {actor: misbehaving, input: subject, retries: {attempts: 1}}
            """
        let outcome = Mutex<Result<Engine.Progress, any Error>?>(nil)
        let thread = Thread {
            var options = Engine.Options()
            options.concurrency = 2
            let engine = Engine(store: store, catalog: catalog, options: options, reloader: reloader)
            let result = Result { try engine.run(try EngineFixtures.workflow(yaml), source: yaml, subjects: subjects) }
            outcome.withLock { $0 = result }
        }
        thread.start()
        try CrashRecoveryTests.waitForCompleted(200, in: store)

        var outcomes: [HotReloader.Outcome] = []
        for swap in 0..<20 {
            let source = swap == 6 ? truncated : swap == 13 ? wrongABI : (swap % 2 == 0 ? buildB : buildA)
            try Self.install(source, at: live)
            outcomes.append(reloader.handle(path: live))
            usleep(20_000)  // let some calls land on each version
        }
        for _ in 0..<6000 where outcome.withLock({ $0 == nil }) { usleep(10_000) }
        let progress = try #require(try outcome.withLock { $0 }?.get())

        #expect(progress.runsCompleted == 6000 && progress.runsFailed == 0)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE status <> 'completed'") == 0)
        let rejected = outcomes.enumerated().filter { if case .rejected = $0.element { true } else { false } }.map(\.offset)
        #expect(rejected == [6, 13], "\(outcomes)")
        // After a rejection the old build still serves, so installing it again changes nothing.
        #expect(outcomes[7] == .unchanged(path: live) && outcomes[14] == .unchanged(path: live), "\(outcomes)")
        #expect(outcomes.filter { if case .swapped = $0 { true } else { false } }.count == 16)

        let shaA = try #require(ContentHash.sha256(ofFile: buildA)), shaB = try #require(ContentHash.sha256(ofFile: buildB))
        var served: [String: Int] = [:]
        for row in try store.rows("SELECT actor_sha256, output FROM interactions") {
            guard let sha = row[0].text, case .blob(let output) = row[1] else { Issue.record("missing hash or output"); continue }
            let build = try JSON.parse(output)["build"]?.stringValue
            #expect(build == (sha == shaA ? "a" : sha == shaB ? "b" : "rejected build \(sha)"), "hash \(sha.prefix(12)) answered \(build ?? "?")")
            served[sha, default: 0] += 1
        }
        #expect(Set(served.keys) == [shaA, shaB], "only the good builds served")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'actor_version_swapped'") == 16)
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'actor_version_rejected'") == 2)
        #expect(try store.count("SELECT COUNT(*) FROM actor_versions WHERE state = 'rejected' AND reason IS NOT NULL") == 2)
    }

    @Test func anEditedScriptIsReloadedTheSameWay() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let script = folder + "/tag.sh"
        try #"printf '{"build":"one","input":'; cat; printf '}'"#.write(toFile: script, atomically: true, encoding: .utf8)
        let catalog = try EngineFixtures.catalog([], files: [script])
        let reloader = HotReloader(catalog: catalog, store: nil)
        let call = ReloadableCall(try catalog.makeCall(try EngineFixtures.workflow("""
            workflow: w
            steps:
              only: {actor: tag}
            """).steps[0].variants[0], concurrency: 1))
        reloader.track(call, variant: try EngineFixtures.workflow("workflow: w\nsteps:\n  only: {actor: tag}").steps[0].variants[0], concurrency: 1)
        func build() throws -> String? {
            guard case .output(let bytes) = call.call(Array("{}".utf8), timeout: .seconds(10)) else { return nil }
            return try JSON.parse(bytes)["build"]?.stringValue
        }
        #expect(try build() == "one")
        try #"printf '{"build":"two","input":'; cat; printf '}'"#.write(toFile: script + ".tmp", atomically: true, encoding: .utf8)
        #expect(rename(script + ".tmp", script) == 0)
        guard case .swapped = reloader.handle(path: script) else { Issue.record("the script was not swapped"); return }
        #expect(try build() == "two")
        #expect(reloader.handle(path: script) == .unchanged(path: script))
    }
}

/// Production pinning and `wavehost serve`, with real plugins and a real host process.
@Suite struct PinningAndServeTests {
    static let echo = """
        workflow: pinned
        approved_hashes: [%@]
        steps:
          only: {actor: echo-c, isolation: inprocess, input: subject}
        """

    @Test func aProductionWorkflowRunsOnlyApprovedHashes() throws {
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"])
        let sha = try #require(catalog.versions(of: ["echo-c"]).first?.sha256)
        let other = String(repeating: "0", count: 64)
        #expect {
            try EngineFixtures.run(Self.echo.replacingOccurrences(of: "%@", with: other), EngineFixtures.subjects(1), store: store, catalog: catalog)
        } throws: { error in
            (error as? PluginError)?.code == .notApproved && "\(error)".contains("wavehost plugins approve \(sha)")
        }
        #expect(try store.count("SELECT COUNT(*) FROM interactions") == 0, "nothing ran")
        let approvedInFile = try EngineFixtures.run(Self.echo.replacingOccurrences(of: "%@", with: sha), EngineFixtures.subjects(1), store: store, catalog: catalog)
        #expect(approvedInFile.runsCompleted == 1)
        // An approval in the store counts as well as the file's list.
        try store.approve(sha, note: "reviewed")
        let viaStore = try EngineFixtures.run(Self.echo.replacingOccurrences(of: "%@", with: other).replacingOccurrences(of: "pinned", with: "pinned-2"),
                                              EngineFixtures.subjects(1), store: store, catalog: catalog)
        #expect(viaStore.runsCompleted == 1)
    }

    @Test func serveReloadsAChangedPluginWhileItRuns() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let plugins = folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        let buildA = try TestPlugins.misbehaving(#"OUTPUT_TAG="a""#, file: "libA.so")
        let buildB = try TestPlugins.misbehaving(#"OUTPUT_TAG="b""#, file: "libB.so")
        let live = plugins + "/libtagged.so"
        try HotReloadTests.install(buildA, at: live)
        func writeSubjects(_ count: Int) throws {
            let lines = (0..<count).map { #"{"id":"s\#($0)"}"# }.joined(separator: "\n")
            try lines.write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        }
        try writeSubjects(5)
        try """
            workflow: serve
            subjects: {file: subjects.jsonl, key: id}
            steps:
              only: {actor: misbehaving, input: subject}
            """.write(toFile: folder + "/serve.yaml", atomically: true, encoding: .utf8)
        let database = folder + "/wavehost.db"
        let host = try TestPlugins.start(TestPlugins.cli, ["serve", folder + "/serve.yaml", "--plugins", plugins, "--database", database,
                                                           "--every", "0.2", "--cache-dir", folder + "/cache",
                                                           "--http", "127.0.0.1:0"])  // a free port: tests run side by side
        defer {
            kill(host, SIGKILL)
            var status: Int32 = 0
            waitpid(host, &status, 0)
        }
        var reader: Store?
        func waitFor(_ sql: String, _ expected: Int) throws {
            for _ in 0..<1500 {
                // One reading connection, opened once the host made the file: opening runs
                // the migrations check, which takes the write lock the host needs.
                if reader == nil, FileManager.default.fileExists(atPath: database) { reader = try? Store(location: database) }
                if let reader, (try? reader.count(sql)) == expected { return }
                usleep(20_000)
            }
            throw TestSetupError("timed out waiting for \(sql) = \(expected)")
        }
        try waitFor("SELECT COUNT(*) FROM runs WHERE status = 'completed'", 5)
        try HotReloadTests.install(buildB, at: live)
        let shaB = try #require(ContentHash.sha256(ofFile: buildB))
        try waitFor("SELECT COUNT(*) FROM events WHERE kind = 'actor_version_swapped'", 1)
        try writeSubjects(10)
        try waitFor("SELECT COUNT(*) FROM runs WHERE status = 'completed'", 10)
        let store = try Store(location: database)
        #expect(try store.count("SELECT COUNT(*) FROM interactions WHERE actor_sha256 = '\(shaB)'") == 5, "the new subjects met build b")
        #expect(try store.count("SELECT COUNT(*) FROM actor_versions WHERE state = 'current' AND sha256 = '\(shaB)'") == 1)
        #expect(try store.count("SELECT COUNT(*) FROM actor_versions WHERE state = 'previous'") == 1)
    }
}
