import ActorRuntime
import Foundation
import WavehostJSON
import WavehostSandbox

/// The bundled sample agent (samples/compliance/agent.py), a real process started for one
/// test on a free loopback port and killed after it.
final class SampleAgent {
    static let folder = TestPlugins.repositoryRoot + "/samples/compliance"
    static let suitePath = folder + "/suite.json"

    let pid: pid_t
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
    private var stopped = false

    /// Starts agent.py with `arguments` (`--fail identity/auth`, `--slow-ms 600`, `--malformed`).
    init(_ arguments: [String] = []) throws {
        let portFile = try TestPlugins.temporaryDirectory() + "/port"
        pid = try TestPlugins.start("/usr/bin/env", ["python3", Self.folder + "/agent.py", "--port", "0", "--port-file", portFile] + arguments)
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        throw TestSetupError("the sample agent did not start")
    }

    deinit { stop() }

    /// SIGKILL (the test runner's ignored SIGTERM is inherited across exec), then reaped.
    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// `POST /_control`: `{"fail": [...], "delay_ms": N, "malformed": bool}`; answers the new state.
    @discardableResult
    func control(_ settings: JSON) throws -> JSON {
        let http = try TestPlugins.loopbackHTTP("sample-agent-control")
        let response = http.perform(HostHTTPRequest(method: "POST", url: url + "/_control",
                                                    headers: [("Content-Type", "application/json")], body: settings.bytes))
        guard response.httpStatus == 200 else { throw TestSetupError("the agent's /_control answered \(response.httpStatus): \(response.error ?? "")") }
        return try JSON.parse(response.body)
    }

    /// A loopback port nothing listens on: one the agent had, after it stopped.
    static func closedPort() throws -> Int {
        let agent = try SampleAgent()
        agent.stop()
        return agent.port
    }
}
