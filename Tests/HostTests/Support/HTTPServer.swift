import Foundation

/// The fixture server, started for one test and stopped after.
struct HTTPServer {
    let pid: pid_t
    let port: Int

    /// Serves `pages` under /pages/; `faults` (file name → "500", "slow" or "malformed")
    /// makes the first request for that page under /faulty/ fail that way.
    init(pages: String, faults: [String: String] = [:]) throws {
        let portFile = try TestPlugins.temporaryDirectory() + "/port"
        let script = TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/http_server.py"
        let plan = faults.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        pid = try TestPlugins.start("/usr/bin/env", ["python3", script, pages, portFile, plan])
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        throw TestSetupError("the fixture HTTP server did not start")
    }

    /// SIGKILL: the test runner's ignored SIGTERM is inherited across exec.
    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
