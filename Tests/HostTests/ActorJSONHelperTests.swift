import Foundation
import Testing

/// The C actors' JSON helper (ActorKit/Sources/ActorABI/include/wavehost/actor_json.h): its unit tests
/// compiled as C11 and as C++ with every warning an error, and its libFuzzer target run for a
/// bounded time under AddressSanitizer and UndefinedBehaviorSanitizer.
@Suite struct ActorJSONHelperTests {
    static let fixtures = TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/actor_json"

    @Test(arguments: [["cc", "-std=c11"], ["c++", "-x", "c++", "-std=c++17"]])
    func unitTestsPass(compiler: [String]) throws {
        let binary = try TestPlugins.temporaryDirectory() + "/actor_json_unit"
        let build = try TestPlugins.run("/usr/bin/env", compiler + [
            "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O1", "-I", TestPlugins.headerDirectory,
            Self.fixtures + "/unit.c", "-o", binary, "-lm",
        ])
        #expect(build.status == 0, "\(compiler[0]) failed:\n\(build.error)")
        guard build.status == 0 else { return }
        let result = try TestPlugins.run(binary, [])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("all passed"))
    }

    /// Seconds of fuzzing: a bound CI can afford, overridden by WAVEHOST_FUZZ_SECONDS.
    static let fuzzSeconds = ProcessInfo.processInfo.environment["WAVEHOST_FUZZ_SECONDS"] ?? "20"

    @Test func fuzzTargetFindsNothing() throws {
        let folder = try TestPlugins.temporaryDirectory()
        let binary = folder + "/actor_json_fuzz", corpus = folder + "/corpus"
        // The corpus grows as the fuzzer runs: a copy of the seeds, never the checkout's.
        try FileManager.default.copyItem(atPath: Self.fixtures + "/seeds", toPath: corpus)
        let build = try TestPlugins.run("/usr/bin/env", [
            Self.clang, "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-fuse-ld=lld",
            "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all", "-I", TestPlugins.headerDirectory,
            Self.fixtures + "/fuzz.c", "-o", binary, "-lm",
        ])
        #expect(build.status == 0, "\(Self.clang) failed:\n\(build.error)")
        guard build.status == 0 else { return }
        let result = try TestPlugins.run(binary, [
            "-max_total_time=\(Self.fuzzSeconds)", "-max_len=4096", "-dict=\(Self.fixtures)/json.dict",
            "-artifact_prefix=\(folder)/", corpus,
        ])
        #expect(result.status == 0, "the fuzzer found a failure (its input is in \(folder)):\n\(result.error.suffix(4000))")
        // libFuzzer's last line: "Done N runs in S second(s)". A run that did nothing proves nothing.
        let runs = result.error.split(separator: "\n").last { $0.hasPrefix("Done ") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect(runs > 10_000, "only \(runs) fuzz runs")
    }

    /// The clang beside `swift` (the toolchain's, which has libFuzzer's runtime), else `clang`.
    static let clang: String = {
        let path = ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
        let toolchain = path.first { FileManager.default.isExecutableFile(atPath: "\($0)/swift") }
        return toolchain.map { "\($0)/clang" }.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? "clang"
    }()
}
