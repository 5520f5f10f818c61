import Foundation
import WavehostEngine
import WavehostHash
import WavehostPlugins

/// Real plugins for tests: the shipping ones built by SwiftPM from Plugins/, and bad
/// ones compiled here with `cc` from Tests/HostTests/Fixtures/misbehaving_actor.c.
enum TestPlugins {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    static let headerDirectory = repositoryRoot + "/ActorKit/Sources/ActorABI/include"

    /// The folder holding this test binary, where SwiftPM also puts the plugin products;
    /// `$WAVEHOST_TEST_PRODUCTS` when set: tools/test's ThreadSanitizer step runs the tests
    /// of an instrumented build against the normal build's plugins, worker and CLI (an
    /// instrumented worker cannot start under its address-space limit, and an uninstrumented
    /// one cannot load instrumented plugins).
    static let productsDirectory: String = {
        if let products = ProcessInfo.processInfo.environment["WAVEHOST_TEST_PRODUCTS"], !products.isEmpty { return products }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // The test binary may sit inside a bundle folder below the products.
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("wavehost").path) {
            folder.deleteLastPathComponent()
        }
        return folder.path
    }()

    /// The path of a shipping plugin product, e.g. `product("EchoC")`.
    static func product(_ name: String) throws -> String {
        let path = productsDirectory + "/lib\(name).so"
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestSetupError("\(path) is missing: run `swift build` before `swift test` (tools/test does)")
        }
        return path
    }

    /// The sandbox fixture (an actor that misbehaves as its input asks), compiled here.
    static func hostile(network: Bool = false) throws -> String {
        try compile(source: repositoryRoot + "/Tests/HostTests/Fixtures/hostile_actor.c", defines: network ? ["NETWORK"] : [],
                    output: "libhostile.so", flags: ["-std=gnu11"])
    }

    /// The sandbox worker built beside the tests.
    static var worker: String { productsDirectory + "/wavehost-worker" }

    /// The `wavehost` executable built beside the tests.
    static var cli: String { productsDirectory + "/wavehost" }

    /// Compiles the misbehaving fixture with `defines` (e.g. "NULL_NAME") into a new folder.
    static func misbehaving(_ defines: String..., file: String = "libmisbehaving.so") throws -> String {
        try compile(source: repositoryRoot + "/Tests/HostTests/Fixtures/misbehaving_actor.c", defines: defines, output: file)
    }

    /// Compiles one C source into a shared library with nothing but the ABI header.
    static func compile(source: String, defines: [String] = [], output: String, compiler: String = "cc",
                        flags: [String] = ["-std=c11"]) throws -> String
    {
        let path = try temporaryDirectory() + "/" + output
        let arguments = [compiler] + flags + ["-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", headerDirectory]
            + defines.map { "-D" + $0 } + [source, "-o", path]
        let result = try run("/usr/bin/env", arguments)
        guard result.status == 0 else { throw TestSetupError("\(compiler) failed for \(source) \(defines):\n\(result.error)") }
        return path
    }

    /// This process's test folders, all in one, removed when it exits (a crashed run
    /// leaves its own behind): a run of the suite makes thousands.
    static let temporaryRoot: String = {
        let path = NSTemporaryDirectory() + "wavehost-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestPlugins.temporaryRoot) }
        return path
    }()

    static func temporaryDirectory() throws -> String {
        let path = temporaryRoot + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A loader with its own empty cache, so tests never share copies.
    ///
    /// Trust for in-process use is explicit, by hash, as an operator gives it: the files in
    /// `trusting`, and (unless `shipping` is false) the shipping plugins built from this
    /// checkout, which the tests of those plugins call in-process. Nothing else — no
    /// fixture a test compiles — is trusted unless the test says so.
    static func loader(trusting: [String] = [], shipping: Bool = true) throws -> PluginLoader {
        let hashes = try trusting.map(sha256) + (shipping ? shippingHashes : [])
        return PluginLoader(cache: PluginCache(directory: try temporaryDirectory() + "/cache"), trust: PluginTrust(hashes))
    }

    /// The SHA-256 of a file (an actor version's identity).
    static func sha256(_ path: String) throws -> String {
        guard let sha = ContentHash.sha256(ofFile: path) else { throw TestSetupError("cannot hash \(path)") }
        return sha
    }

    /// The hashes of the shipping plugin products (lib*.so beside the tests).
    static let shippingHashes: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: productsDirectory)) ?? []
        return names.filter { $0.hasPrefix("lib") && $0.hasSuffix(".so") }
            .compactMap { ContentHash.sha256(ofFile: productsDirectory + "/" + $0) }
    }()

    struct ProcessResult {
        var status: Int32
        var output: String
        var error: String
    }

    /// Starts a program in the background (stdout to /dev/null); returns its pid.
    /// With `log`, stdout and stderr both go into that file instead.
    static func start(_ executable: String, _ arguments: [String], log: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let log {
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSetupError("cannot run \(executable): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// Runs a program to completion, capturing stdout and stderr through files (so
    /// neither can fill a pipe and stall the child). posix_spawn and waitpid, not
    /// Foundation's Process, which can miss the exit of a child that leaves a daemon.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        let folder = try temporaryDirectory()
        let outPath = folder + "/stdout", errPath = folder + "/stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSetupError("cannot run \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ProcessResult(status: exitCode,
                             output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                             error: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
