import Foundation
import Testing
import WavehostEngine
import WavehostStore

/// The `wavehost` executable, run as a user would.
@Suite struct CLITests {
    private func wavehost(_ arguments: String...) throws -> TestPlugins.ProcessResult {
        let cache = try TestPlugins.temporaryDirectory()
        return try TestPlugins.run(TestPlugins.cli, arguments + ["--cache-dir", cache])
    }

    /// One table of exit statuses, in the top-level help; commands exit by it.
    @Test func theHelpListsEveryExitStatusAndCommandsUseThem() throws {
        let help = try TestPlugins.run(TestPlugins.cli, ["--help"])
        for status in 0...8 { #expect(help.output.contains("\n  \(status)  "), "status \(status) in:\n\(help.output)") }
        let folder = try TestPlugins.temporaryDirectory()
        let missing = try TestPlugins.run(TestPlugins.cli, ["report", "batch", "job-postings", "--database", folder + "/none.db"])
        #expect(missing.status == 6 && missing.error.contains("no database at"), "\(missing.error)")
        _ = try Store(location: folder + "/empty.db")
        let unknown = try TestPlugins.run(TestPlugins.cli, ["report", "batch", "nope", "--database", folder + "/empty.db"])
        #expect(unknown.status == 2 && unknown.error.contains("no workflow named nope"), "\(unknown.error)")
    }

    @Test func checkPassesAShippingPluginWithALinePerCheck() throws {
        let result = try wavehost("plugins", "check", try TestPlugins.product("EchoC"))
        #expect(result.status == 0, "\(result.output)\(result.error)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("PASS  ") }.count >= 10)
        #expect(!lines.contains { $0.hasPrefix("FAIL") })
        #expect(lines.last?.hasSuffix("passed, 0 failed") == true)
    }

    @Test func checkExitsNonZeroOnFailure() throws {
        let result = try wavehost("plugins", "check", try TestPlugins.misbehaving("INVALID_OUTPUT"))
        #expect(result.status == 4)
        #expect(result.output.contains("FAIL  hostile input"))
    }

    /// A segfault in create kills only a sandboxed worker (untrusted) or the child that
    /// runs the checks (trusted); the checker reports it as a failure of the check that was
    /// running, with the signal.
    @Test func checkReportsACrashingCreateInsteadOfDying() throws {
        let plugin = try TestPlugins.misbehaving("CRASHING_CREATE")
        let result = try wavehost("plugins", "check", plugin)
        #expect(result.status == 4)
        #expect(result.output.contains("PASS  loads: misbehaving"))
        #expect(result.output.contains("FAIL  creates with its example config: worker did not start: worker killed by signal 11"),
                "\(result.output)")
        #expect(result.output.hasSuffix("passed, 2 failed\n"), "no examples, and the crash")

        let trusted = try wavehost("plugins", "check", plugin, "--trust", try TestPlugins.sha256(plugin))
        #expect(trusted.status == 4)
        #expect(trusted.output.contains("FAIL  creates with its example config: the plugin crashed the checker with signal 11"),
                "the crash is pinned on the check that was running: \(trusted.output)")
        #expect(trusted.output.contains("fix: run it under a debugger"))
        #expect(trusted.output.hasSuffix("passed, 2 failed\n"), "no examples, and the crash")
    }

    @Test func inspectShowsHashDescriptorAndCapabilities() throws {
        let path = try TestPlugins.product("FieldValidator")
        let result = try wavehost("plugins", "inspect", path)
        #expect(result.status == 0)
        #expect(result.output.contains("name         field-validator"))
        #expect(result.output.contains("capabilities thread-safe"))
        #expect(result.output.contains("kind         validator"))
        let json = try wavehost("plugins", "inspect", "--json", path)
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((object?["sha256"] as? String)?.count == 64)
    }

    @Test func invokeTakesInlineJSONOrAFile() throws {
        let path = try TestPlugins.product("JSONTransform")
        let inline = try wavehost("invoke", path, "--config", #"{"drop":["b"]}"#, "--input", #"{"a":1,"b":2}"#)
        #expect(inline.status == 0)
        #expect(inline.output == "{\"a\":1}\n")
        let file = try TestPlugins.temporaryDirectory() + "/input.json"
        try #"{"from":"file"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try wavehost("invoke", path, "--input", "@" + file)
        #expect(fromFile.output == "{\"from\":\"file\"}\n")
    }

    @Test func invokeRunsPluginsSandboxedByDefaultAndScriptsToo() throws {
        let echo = try TestPlugins.product("EchoC")
        for isolation in ["process", "inprocess"] {
            let result = try wavehost("invoke", echo, "--isolation", isolation, "--input", "[1]", "--trust", try TestPlugins.sha256(echo))
            #expect(result.output == "{\"echo\":[1],\"bytes\":3}\n", "\(isolation): \(result.error)")
        }
        let script = TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/scripts/hostile.py"
        let timedOut = try wavehost("invoke", script, "--input", #"{"do":"loop"}"#, "--timeout", "0.3")
        #expect(timedOut.status == 1)
        #expect(timedOut.error.contains("actor hostile: timed out after"))
        let crashed = try wavehost("invoke", try TestPlugins.hostile(), "--input", #"{"do":"segfault"}"#)
        #expect(crashed.status == 1)
        #expect(crashed.error.contains("worker killed by signal 11"))
    }

    @Test func doctorListsTheSandboxLayers() throws {
        let result = try wavehost("doctor")
        #expect(result.status == 0, "\(result.error)")
        for layer in ["rlimits", "network-namespace", "filesystem", "no-new-privileges", "syscall-filter"] {
            #expect(result.output.contains("  \(layer)"))
        }
    }

    @Test func invokeReportsRefusalsAndLoadErrorsWithDistinctStatuses() throws {
        let refused = try wavehost("invoke", try TestPlugins.product("JSONTransform"), "--input", "[1]")
        #expect(refused.status == 1)
        #expect(refused.error.contains("actor json-transform: invalid input: input must be an object"))
        let missing = try wavehost("invoke", "/nonexistent/lib.so", "--input", "{}")
        #expect(missing.status == 3)
        #expect(missing.error.contains("/nonexistent/lib.so: not found"))
        let badConfig = try wavehost("invoke", try TestPlugins.product("FieldValidator"), "--config", "[]", "--input", "{}")
        #expect(badConfig.status == 3)
        #expect(badConfig.error.contains("config must be an object"))
    }

    /// `--cache-dir` relative to where the command runs: the sandboxed worker, which starts
    /// in a folder of its own, still finds the plugin's copy.
    @Test func aRelativeCacheFolderWorksForSandboxedWorkers() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let result = try TestPlugins.run("/bin/sh", ["-c", "cd '\(folder)' && exec '\(TestPlugins.cli)' invoke '\(try TestPlugins.product("EchoC"))' --input '[1]' --cache-dir cache"])
        #expect(result.status == 0 && result.output == "{\"echo\":[1],\"bytes\":3}\n", "\(result.error)")
    }
}
