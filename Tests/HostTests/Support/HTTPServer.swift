import Foundation
import WavehostEngine
import WavehostSandbox

/// A Python fixture server from Tests/HostTests/Fixtures, started for one test and stopped
/// after. The script writes its port to the file it is given once it listens.
struct FixtureServer {
    let pid: pid_t
    let port: Int

    /// Runs `script` with the arguments `arguments` makes of the port file's path.
    init(_ script: String, _ arguments: (_ portFile: String) -> [String]) throws {
        let portFile = try TestPlugins.temporaryDirectory() + "/port"
        let path = TestPlugins.repositoryRoot + "/Tests/HostTests/Fixtures/" + script
        pid = try TestPlugins.start("/usr/bin/env", ["python3", path] + arguments(portFile))
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        throw TestSetupError("the fixture server \(script) did not start")
    }

    /// SIGKILL: the test runner's ignored SIGTERM is inherited across exec.
    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// The paged job API fixture (http_server.py).
typealias HTTPServer = FixtureServer

extension FixtureServer {
    /// Serves `pages` under /pages/; `faults` (file name → "500", "slow" or "malformed")
    /// makes the first request for that page under /faulty/ fail that way.
    init(pages: String, faults: [String: String] = [:]) throws {
        let plan = faults.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        try self.init("http_server.py") { [pages, $0, plan] }
    }
}

extension TestPlugins {
    /// The host's HTTP service as a variant granted plain HTTP to loopback would get it.
    static func loopbackHTTP(_ actor: String, secrets: Set<String> = [], responseLimit: UInt64 = 8 << 20) throws -> HostHTTP {
        HostHTTP(actor: actor, grant: try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"]), responseLimit: responseLimit,
                 secrets: secrets)
    }
}
