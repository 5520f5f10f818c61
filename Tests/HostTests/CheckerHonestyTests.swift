import Foundation
import Testing

/// `plugins check` never passes what it should fail: a refusal must be a status other than
/// WH_OK, every call has a deadline (in workers and in-process), a crash is pinned on the
/// check that ran, a missing file is a plugin error naming the path, and errors name the
/// author's file, never the cache's copy. `invoke --timeout` holds in-process too.
@Suite struct CheckerHonestyTests {
    private func wavehost(_ arguments: String...) throws -> TestPlugins.ProcessResult {
        try TestPlugins.run(TestPlugins.cli, arguments + ["--cache-dir", try TestPlugins.temporaryDirectory()])
    }

    @Test(arguments: [false, true])
    func anExpectedRefusalAnsweredWithOKFails(trusted: Bool) throws {
        let plugin = try TestPlugins.misbehaving("INVALID_OUTPUT", #"EXAMPLES="[{\"name\":\"refuses\",\"input\":{},\"error\":true}]""#)
        let result = trusted ? try wavehost("plugins", "check", plugin, "--trust", try TestPlugins.sha256(plugin))
                             : try wavehost("plugins", "check", plugin)
        #expect(result.status == 4)
        #expect(result.output.contains(#"FAIL  example "refuses": expected a refusal (a status other than WH_OK), but the actor answered WH_OK"#),
                "\(result.output)")
        #expect(result.output.contains("fix: refuse this input with a status other than WH_OK"), "\(result.output)")
    }

    @Test(arguments: [false, true])
    func aSlowCallFailsItsCheckByName(trusted: Bool) throws {
        let plugin = try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/sleepy_actor.c",
                                             defines: ["SLEEP_MS=4000", #"EXAMPLES="[{\"name\":\"slow one\",\"input\":{}}]""#],
                                             output: "libsleepy.so")
        let clock = ContinuousClock()
        let began = clock.now
        let result = trusted ? try wavehost("plugins", "check", plugin, "--timeout", "0.5", "--trust", try TestPlugins.sha256(plugin))
                             : try wavehost("plugins", "check", plugin, "--timeout", "0.5")
        #expect(result.status == 4)
        if trusted {
            // In-process, the first late call ends the suite: its thread cannot be stopped.
            #expect(result.output.contains(#"FAIL  example "slow one": a call took longer than its deadline, 0.5 seconds"#),
                    "\(result.output)")
            #expect(result.output.contains("fix: answer within the deadline, or give a slow actor more with --timeout"))
            #expect(result.output.hasSuffix("passed, 1 failed\n"), "\(result.output)")
        } else {
            #expect(result.output.contains(#"FAIL  example "slow one": timed out"#), "\(result.output)")
            #expect(result.output.contains("fix: answer within the deadline"), "\(result.output)")
            #expect(result.output.contains(#"FAIL  hostile input "empty": timed out"#), "\(result.output)")
        }
        // Seven calls of 4 s each would take 28 s: the deadline cut every one.
        #expect(clock.now - began < .seconds(20), "\(clock.now - began)")
    }

    @Test func aMissingFileIsAPluginErrorNamingThePath() throws {
        let result = try wavehost("plugins", "check", "/nonexistent/libnothing.so")
        #expect(result.status == 3)
        #expect(result.error.contains("/nonexistent/libnothing.so: No such file or directory"), "\(result.error)")
        #expect(result.output.isEmpty)
    }

    @Test func errorsNameTheAuthorsFileNotTheCachedCopy() throws {
        let echo = try TestPlugins.product("EchoC")
        let cache = try TestPlugins.temporaryDirectory()
        let result = try TestPlugins.run(TestPlugins.cli, ["invoke", echo, "--config", #"{"nope":1}"#, "--input", "1", "--cache-dir", cache])
        #expect(result.status == 3)
        #expect(result.error.contains(echo), "\(result.error)")
        #expect(!result.error.contains(cache) && !result.error.contains("/workers/"), "\(result.error)")
        #expect(result.error.contains(#"unknown config option "nope""#))
    }

    @Test func invokeTimeoutHoldsInProcess() throws {
        let plugin = try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/sleepy_actor.c",
                                             defines: ["SLEEP_MS=10000"], output: "libsleepy.so")
        let clock = ContinuousClock()
        let began = clock.now
        let result = try wavehost("invoke", plugin, "--input", "{}", "--isolation", "inprocess", "--timeout", "1",
                                  "--trust", try TestPlugins.sha256(plugin))
        #expect(result.status == 1)
        #expect(result.error.contains("timed out: no answer within 1.0 seconds (--timeout)"), "\(result.error)")
        #expect(result.output.isEmpty)
        #expect(clock.now - began < .seconds(8), "\(clock.now - began)")
    }
}

/// A script actor has no descriptor: `plugins check` runs its examples from the file beside it
/// and the hostile inputs, each in the sandbox, and judges refusals by exit status.
@Suite struct ScriptCheckTests {
    @Test func theBundledScriptPasses() throws {
        let script = TestPlugins.repositoryRoot + "/Plugins/Scripts/word-count.py"
        let check = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", script])
        #expect(check.status == 0, "\(check.output)\(check.error)")
        #expect(check.output.contains("11 passed, 0 failed"), "\(check.output)")
    }

    @Test func aScriptThatAnswersGarbageOrIsWrongFails() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let script = folder + "/echo-ish.sh"
        // Answers its input as it is: garbage in, garbage out; and a wrong example.
        try "#!/bin/sh\ncat\n".write(toFile: script, atomically: true, encoding: .utf8)
        try #"[{"name": "doubles", "input": {"n": 1}, "output": {"n": 2}}, {"name": "refuses", "input": [], "error": true}]"#
            .write(toFile: folder + "/echo-ish.examples.json", atomically: true, encoding: .utf8)
        let check = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", script])
        #expect(check.status == 4)
        #expect(check.output.contains(#"FAIL  example "doubles": expected {"n":2}, got {"n":1}"#), "\(check.output)")
        #expect(check.output.contains(#"FAIL  example "refuses": expected a refusal"#), "\(check.output)")
        #expect(check.output.contains(#"FAIL  hostile input "invalid JSON": stdout is not valid JSON"#), "\(check.output)")
    }
}
