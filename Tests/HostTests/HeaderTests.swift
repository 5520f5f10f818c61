import Foundation
import Testing
import WavehostEngine
import WavehostPlugins

/// The header alone is enough to build an actor, in C and in C++.
@Suite struct HeaderTests {
    @Test func exampleCPluginBuildsFromTheHeaderAloneAsStrictC() throws {
        let plugin = try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Plugins/EchoC/echo.c",
                                             output: "libecho.so", flags: ["-std=c11", "-Wpedantic"])
        let loaded = try TestPlugins.loader().load(plugin)
        #expect(loaded.name == "echo-c")
    }

    @Test func headerCompilesAsCxx() throws {
        let source = try TestPlugins.temporaryDirectory() + "/include.cpp"
        try """
            #include <wavehost/actor_abi.h>
            static_assert(sizeof(wh_actor_descriptor) == 112, "descriptor layout");
            static_assert(WH_DESCRIPTOR_MIN_SIZE == 72, "required part of the descriptor");
            extern "C" const wh_actor_descriptor *wavehost_actor_entry(uint32_t, wh_abi_range *speaks) {
                if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
                return nullptr;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        _ = try TestPlugins.compile(source: source, output: "libcxx.so", compiler: "c++", flags: ["-std=c++17", "-Wpedantic"])
    }
}

/// The tutorial in docs/abi.md is real code: it builds from the header alone and passes
/// the conformance suite.
@Suite struct TutorialTests {
    @Test func firstActorInCFromTheDocsPassesTheCheck() throws {
        let doc = try String(contentsOfFile: TestPlugins.repositoryRoot + "/docs/abi.md", encoding: .utf8)
        let section = try #require(doc.range(of: "## 7. Write your first actor in C"))
        let start = try #require(doc.range(of: "```c\n", range: section.upperBound..<doc.endIndex))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let source = try TestPlugins.temporaryDirectory() + "/hello.c"
        try String(doc[start.upperBound..<end.lowerBound]).write(toFile: source, atomically: true, encoding: .utf8)
        let plugin = try TestPlugins.compile(source: source, output: "libhello.so", flags: ["-std=c11", "-Wpedantic"])

        var failures: [String] = []
        let passed = ConformanceCheck(path: plugin, loader: try TestPlugins.loader()).run { result in
            if !result.passed { failures.append("\(result.name): \(result.detail)") }
        }
        #expect(passed, "\(failures)")
    }
}
