import Foundation
@testable import WavehostEngine

/// A real `wavehost serve` process for the serve tests: started in a folder of its own,
/// its stdout and stderr in one log file, stopped by a real signal.
final class ServeHost {
    let folder: String
    let pid: pid_t
    let log: String
    private var exited: Int32?

    /// Starts `wavehost serve ARGUMENTS` with `--http 127.0.0.1:0` unless `arguments` name an address.
    init(folder: String, _ arguments: [String], logName: String = "serve.log") throws {
        self.folder = folder
        log = folder + "/" + logName
        let http = arguments.contains("--http") ? [] : ["--http", "127.0.0.1:0"]
        pid = try TestPlugins.start(TestPlugins.cli, ["serve"] + arguments + http, log: log)
    }

    deinit {
        if exited == nil {
            kill(pid, SIGKILL)
            _ = waitForExit()
        }
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Polls until `condition` holds, the process exits, or `limit` polls (every 50 ms) pass.
    func wait(for what: String, limit: Int = 1200, _ condition: () throws -> Bool) throws {
        for _ in 0..<limit {
            if try condition() { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = Self.exitStatus(status)
                throw TestSetupError("serve exited (\(exited!)) before \(what):\n\(output)")
            }
            usleep(50_000)
        }
        throw TestSetupError("serve never reached \(what):\n\(output)")
    }

    /// The bound address from `http: listening on http://HOST:PORT`.
    func address() throws -> String {
        var found: String?
        try wait(for: "listening") {
            found = output.split(separator: "\n").first { $0.hasPrefix("http: listening on ") }
                .map { String($0.dropFirst("http: listening on ".count)) }
            return found != nil
        }
        return found!
    }

    /// Sends `signal` and waits for the exit status (128 + N when killed by signal N).
    func stop(with signal: Int32) -> Int32 {
        kill(pid, signal)
        return waitForExit()
    }

    func waitForExit() -> Int32 {
        if let exited { return exited }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exited = Self.exitStatus(status)
        return exited!
    }

    private static func exitStatus(_ status: Int32) -> Int32 {
        (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Every process whose parent chain leads to this host.
    var descendants: Set<pid_t> { Set(Self.descendants(of: pid)) }

    static func descendants(of root: pid_t) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let parent = ProcessFacts.parent(of: pid) else { continue }
            parents[pid] = parent
        }
        return parents.keys.filter { pid in
            var current = pid
            for _ in 0..<64 {
                guard let parent = parents[current] else { return false }
                if parent == root { return true }
                current = parent
            }
            return false
        }
    }

    /// The sleeping fixture, built with `sleepMilliseconds` into `folder` as libsleepy.so.
    static func sleepy(_ sleepMilliseconds: Int, into folder: String) throws {
        let built = try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/sleepy_actor.c",
                                            defines: ["SLEEP_MS=\(sleepMilliseconds)"], output: "libsleepy.so", flags: ["-std=gnu11"])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: folder + "/libsleepy.so")
        try FileManager.default.copyItem(atPath: built, toPath: folder + "/libsleepy.so")
    }
}
