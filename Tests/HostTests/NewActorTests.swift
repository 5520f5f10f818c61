import Foundation
import Testing

/// `wavehost new actor NAME --lang L`: each generated project builds with its language's own
/// tools, outside this repository, and passes `plugins check` as generated — trusted, so the
/// release and thread-safety checks run too.
@Suite struct NewActorTests {
    /// Generates `name` in `lang` into a fresh folder and returns the folder.
    static func generate(_ name: String, lang: String) throws -> String {
        let folder = try TestPlugins.temporaryDirectory() + "/" + name
        let result = try TestPlugins.run(TestPlugins.cli, ["new", "actor", name, "--lang", lang, "--output", folder,
                                                           "--sdk", TestPlugins.repositoryRoot])
        guard result.status == 0 else { throw TestSetupError("wavehost new failed: \(result.error)") }
        #expect(result.output.contains("created \(folder)"))
        return folder
    }

    static func expectPassesEveryCheck(_ library: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", "--trust", try TestPlugins.sha256(library), library])
        #expect(check.status == 0, "\(check.output)\(check.error)", sourceLocation: sourceLocation)
        #expect(check.output.contains(" 0 failed") && !check.output.contains("SKIP"), "\(check.output)", sourceLocation: sourceLocation)
    }

    @Test func aCProjectBuildsWithMakeAndPasses() throws {
        let folder = try Self.generate("salary-check", lang: "c")
        let build = try TestPlugins.run("/usr/bin/env", ["make", "-C", folder])
        #expect(build.status == 0, "\(build.error)")
        try Self.expectPassesEveryCheck(folder + "/libsalary_check.so")
        let inspect = try TestPlugins.run(TestPlugins.cli, ["plugins", "inspect", folder + "/libsalary_check.so"])
        #expect(inspect.output.contains("name         salary-check"), "\(inspect.output)")
    }

    @Test func aRustProjectBuildsWithCargoAndPasses() throws {
        guard let cargo = RustActorTests.cargo else { throw TestSetupError("cargo is missing: tools/setup installs it") }
        let folder = try Self.generate("text-stats", lang: "rust")
        let build = try TestPlugins.run(cargo, ["build", "--release", "--offline", "--quiet", "--manifest-path", folder + "/Cargo.toml"])
        #expect(build.status == 0, "\(build.error)")
        try Self.expectPassesEveryCheck(folder + "/target/release/libtext_stats.so")
        let source = try String(contentsOfFile: folder + "/src/lib.rs", encoding: .utf8)
        #expect(source.hasPrefix("//! text-stats: a Wavehost actor in Rust (made from word-count, the example)."))
    }

    @Test func aPythonScriptProjectPassesAsGenerated() throws {
        let folder = try Self.generate("title-words", lang: "python")
        let check = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", folder + "/title-words.py"])
        #expect(check.status == 0, "\(check.output)\(check.error)")
        #expect(check.output.contains("3 example(s) in \(folder)/title-words.examples.json"), "\(check.output)")
        #expect(check.output.contains(" 0 failed"), "\(check.output)")
    }

    /// Also the proof that an actor package outside this repository builds against ActorKit
    /// alone: nothing of the host's dependencies is resolved, fetched or compiled.
    @Test func aSwiftProjectBuildsAgainstActorKitAloneAndPasses() throws {
        let folder = try Self.generate("greeter", lang: "swift")
        let swift = try #require(ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
            .map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }, "swift is not on PATH")
        let build = try TestPlugins.run(swift, ["build", "--package-path", folder, "--product", "Greeter"])
        #expect(build.status == 0, "\(build.output)\(build.error)")
        let resolved = (try? String(contentsOfFile: folder + "/Package.resolved", encoding: .utf8)) ?? ""
        #expect(!resolved.contains("swift-crypto") && !resolved.contains("yams") && !resolved.contains("swift-log"), "\(resolved)")
        let checkouts = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/.build/checkouts")) ?? []
        #expect(checkouts.isEmpty, "fetched: \(checkouts)")
        let built = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/.build/debug")) ?? []
        #expect(!built.contains { $0.hasPrefix("Crypto") || $0.hasPrefix("Yams") || $0.hasPrefix("Logging") }, "\(built)")
        try Self.expectPassesEveryCheck(folder + "/.build/debug/libGreeter.so")
    }

    @Test func refusesABadNameAndAnExistingFolder() throws {
        let bad = try TestPlugins.run(TestPlugins.cli, ["new", "actor", "Bad Name", "--lang", "c"])
        #expect(bad.status == 2, "a usage error is bad input (2), not ArgumentParser's 64: \(bad.status)")
        #expect(bad.error.contains("is not an actor name"), "\(bad.error)")
        let folder = try TestPlugins.temporaryDirectory()
        let existing = try TestPlugins.run(TestPlugins.cli, ["new", "actor", "x", "--lang", "c", "--output", folder,
                                                             "--sdk", TestPlugins.repositoryRoot])
        #expect(existing.status == 2)
        #expect(existing.error.contains("already exists"), "\(existing.error)")
    }
}
