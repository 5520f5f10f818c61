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
