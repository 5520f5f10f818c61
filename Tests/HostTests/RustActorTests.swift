import Foundation
import Testing

/// "Any language that makes a .so": the Rust example actor (Plugins/WordCountRust, std only)
/// built with cargo from a copy of its crate, then put through `plugins check` (trusted, so
/// the release and thread-safety checks run too) and called through `invoke`.
@Suite struct RustActorTests {
    /// cargo on PATH, else where rustup puts it.
    static let cargo: String? = {
        let path = ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":").map(String.init)
        let home = ProcessInfo.processInfo.environment["HOME"].map { [$0 + "/.cargo/bin"] } ?? []
        return (path + home + ["/usr/bin"]).map { $0 + "/cargo" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static func build() throws -> String {
        guard let cargo else { throw TestSetupError("cargo is missing: tools/setup installs it (Debian's cargo)") }
        // A copy, so that cargo's lock file and target folder never land in the checkout.
        let folder = try TestPlugins.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestPlugins.repositoryRoot + "/Plugins/WordCountRust", toPath: folder + "/crate")
        let result = try TestPlugins.run(cargo, ["build", "--release", "--offline", "--quiet",
                                                 "--manifest-path", folder + "/crate/Cargo.toml"])
        guard result.status == 0 else { throw TestSetupError("cargo build failed:\n\(result.error)") }
        return folder + "/crate/target/release/libword_count.so"
    }

    @Test func passesEveryCheckTrusted() throws {
        let library = try Self.build()
        let check = try TestPlugins.run(TestPlugins.cli, ["plugins", "check", "--trust", try TestPlugins.sha256(library), library])
        #expect(check.status == 0, "\(check.output)\(check.error)")
        #expect(check.output.contains("15 passed, 0 failed"), "\(check.output)")
        #expect(!check.output.contains("SKIP"), "\(check.output)")

        let invoke = try TestPlugins.run(TestPlugins.cli, [
            "invoke", library, "--config", #"{"field": "posting.body"}"#,
            "--input", #"{"posting": {"body": "Rust \u00e9ngineer\n\nfull time"}}"#,
        ])
        #expect(invoke.status == 0, "\(invoke.error)")
        #expect(invoke.output.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"words":4,"characters":24,"lines":3}"#)

        let refused = try TestPlugins.run(TestPlugins.cli, ["invoke", library, "--config", #"{"fields": "x"}"#, "--input", "{}"])
        #expect(refused.status != 0)
        #expect(refused.error.contains(#"unknown config option "fields""#), "\(refused.error)")
    }
}
