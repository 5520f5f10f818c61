import Foundation

/// The real local model server for tests: llama-server with Gemma 3 270M, installed by
/// `tools/llm install` (slow once, then a no-op) and started by `tools/llm run` on a free
/// loopback port (never the user's 8088), shared by every test of the process and killed at exit.
final class LLMServer: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    let log: String
    var endpoint: String { "http://127.0.0.1:\(port)/v1" }

    static let shared: Result<LLMServer, TestSetupError> = {
        do {
            let server = try LLMServer()
            // SIGKILL: the test runner's ignored SIGTERM is inherited across exec.
            atexit { if case .success(let server) = LLMServer.shared { kill(server.pid, SIGKILL) } }
            return .success(server)
        } catch let error as TestSetupError { return .failure(error) } catch {
            return .failure(TestSetupError("\(error)"))
        }
    }()

    /// The install's record (`tools/llm paths`): SERVER, MODEL, BUILD and PACKAGES.
    let install: [String: String]

    private init() throws {
        let tool = TestPlugins.repositoryRoot + "/tools/llm"
        let installed = try TestPlugins.run("/usr/bin/env", ["bash", tool, "install"])
        guard installed.status == 0 else { throw TestSetupError("tools/llm install failed (\(installed.status)):\n\(installed.error)") }
        let listed = try TestPlugins.run("/usr/bin/env", ["bash", tool, "paths"])
        var record: [String: String] = [:]
        for line in listed.output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            record[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard record["SERVER"] != nil, record["MODEL"] != nil else {
            throw TestSetupError("tools/llm paths gave no SERVER and MODEL:\n\(listed.output)\(listed.error)")
        }
        install = record
        port = try Self.freePort()
        log = try TestPlugins.temporaryDirectory() + "/llama-server.log"
        // `tools/llm run` execs the very server `tools/llm start` runs, with the same flags; one
        // thread, as other suites want the CPU at the same time (see tools/llm on spinning threads).
        pid = try TestPlugins.start("/usr/bin/env", ["bash", tool, "run", "--port", String(port), "--threads", "1"], log: log)
        let deadline = ContinuousClock.now + .seconds(120)
        while !Self.healthy(port) {
            var status: Int32 = 0
            let exited = waitpid(pid, &status, WNOHANG) == pid
            if exited || ContinuousClock.now > deadline {
                if !exited { kill(pid, SIGKILL) }
                throw TestSetupError("llama-server \(exited ? "exited while starting" : "did not answer /health in 120 s") "
                                     + "on port \(port); log tail:\n\(Self.tail(log))")
            }
            usleep(100_000)
        }
    }

    /// `GET /health` answers 200 once the model is loaded (503 while it loads).
    private static func healthy(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        guard send(fd, request, request.utf8.count, Int32(MSG_NOSIGNAL)) == request.utf8.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 && String(decoding: buffer[..<count], as: UTF8.self).hasPrefix("HTTP/1.1 200")
    }

    private static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }

    /// A loopback port nobody listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestSetupError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
