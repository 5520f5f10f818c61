import Foundation
import Testing
import WavehostEngine
import WavehostHash
import WavehostPlugins
import WavehostSandbox

/// Script actors run in the same sandbox: JSON on stdin and stdout, stderr kept.
@Suite struct ScriptActorTests {
    private static let scripts = TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/scripts"

    private func script(_ name: String) throws -> ScriptActor {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        let cache = PluginCache(directory: try TestPlugins.temporaryDirectory())
        return try ScriptActor(path: Self.scripts + "/" + name, cache: cache, configuration: configuration)
    }

    private func run(_ actor: ScriptActor, _ input: String, timeout: Duration = .seconds(20)) throws(SandboxFailure) -> String {
        String(decoding: try actor.invoke(Array(input.utf8), timeout: timeout), as: UTF8.self)
    }

    private func failure(_ actor: ScriptActor, _ input: String, timeout: Duration = .seconds(20)) -> SandboxFailure? {
        do { _ = try run(actor, input, timeout: timeout); return nil } catch { return error }
    }

    @Test func identityIsTheFilesHashAndTheInterpreterComesFromTheShebang() throws {
        let actor = try script("hostile.py")
        #expect(actor.sha256 == ContentHash.sha256(ofFile: Self.scripts + "/hostile.py"))
        #expect(actor.interpreter == ["/usr/bin/env", "python3"])
        #expect(actor.name == "hostile")
        #expect(try run(actor, #"{"a":[1,2]}"#) == #"{"a": [1, 2]}"#)
    }

    @Test func aScriptWithoutShebangRunsByItsExtension() throws {
        let actor = try script("wrap.sh")
        #expect(actor.interpreter == ["sh"])
        #expect(try run(actor, #"{"a":1}"#) == #"{"wrapped":{"a":1}}"#)
    }

    @Test func unknownInterpreterIsAClearError() throws {
        let path = try TestPlugins.temporaryDirectory() + "/mystery"
        try "echo {}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try ScriptActor(path: path, cache: PluginCache(directory: try TestPlugins.temporaryDirectory()))
        } throws: { error in
            (error as? PluginError)?.code == .noInterpreter && (error as? PluginError)?.path == path
        }
    }

    /// The host writes the input while the script has already exited: the host gets
    /// EPIPE (no SIGPIPE kills it) and the script's own answer stands.
    @Test func aScriptThatIgnoresItsInputDoesNotHurtTheHost() throws {
        let path = try TestPlugins.temporaryDirectory() + "/ignore.sh"
        try #"echo '{"ignored":true}'"#.write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        let actor = try ScriptActor(path: path, cache: PluginCache(directory: try TestPlugins.temporaryDirectory()),
                                    configuration: configuration)
        let input = Array(#"{"text":""#.utf8) + [UInt8](repeating: 120, count: 4 << 20) + Array(#""}"#.utf8)
        let output = try actor.invoke(input, timeout: .seconds(20))
        #expect(String(decoding: output, as: UTF8.self) == "{\"ignored\":true}\n")
    }

    @Test func aLoopingScriptTimesOut() throws {
        let failure = try #require(failure(try script("hostile.py"), #"{"do":"loop"}"#, timeout: .milliseconds(500)))
        #expect(failure.code == .timedOut)
        #expect(failure.elapsedNanoseconds >= 500_000_000)
    }

    @Test func crashesAndFailuresCarryTheirCauseAndStderr() throws {
        let actor = try script("hostile.py")
        let crashed = try #require(failure(actor, #"{"do":"crash"}"#))
        #expect(crashed.code == .crashed)
        #expect(crashed.message.contains("killed by signal 11"))
        let failed = try #require(failure(actor, #"{"do":"fail"}"#))
        #expect(failed.code == .actorFailed(.failed))
        #expect(failed.message.contains("exited with status 2: cannot grade this posting: no title"))
    }

    @Test func unboundedAllocationIsStoppedByTheLimit() throws {
        var configuration = WorkerPool.Configuration()
        configuration.workerPath = TestPlugins.worker
        configuration.limits.addressSpaceBytes = 512 << 20
        let actor = try ScriptActor(path: Self.scripts + "/hostile.py", cache: PluginCache(directory: try TestPlugins.temporaryDirectory()),
                                    configuration: configuration)
        let stopped = try #require(failure(actor, #"{"do":"allocate"}"#))
        #expect(stopped.code == .actorFailed(.failed))
        #expect(stopped.message.contains("MemoryError"))
    }

    @Test func garbageAndHugeAnswersAreRefused() throws {
        let actor = try script("hostile.py")
        let garbage = try #require(failure(actor, #"{"do":"garbage"}"#))
        #expect(garbage.code == .actorFailed(.invalidOutput))
        let huge = try #require(failure(actor, #"{"do":"huge"}"#))
        #expect(huge.code == .outputTooLarge)
    }

    @Test func scriptsGetNoNetworkAndWriteOnlyInScratch() throws {
        let actor = try script("hostile.py")
        #expect(try run(actor, #"{"do":"socket"}"#) == #"{"socket": "denied", "errno": 1}"#)
        let outside = NSTemporaryDirectory() + "wavehost-escape-\(UUID().uuidString)"
        #expect(try run(actor, #"{"do":"write","path":"\#(outside)"}"#) == #"{"write": "denied", "errno": 13}"#)
        #expect(try run(actor, #"{"do":"write","path":"inside.txt"}"#) == #"{"write": "allowed"}"#)
    }
}
