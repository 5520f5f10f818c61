import Foundation

/// A real, throwaway PostgreSQL server for tests: initdb into a temporary folder,
/// listening on 127.0.0.1 only, stopped when the test process exits. Each test makes
/// its own database on it.
final class PostgresServer: @unchecked Sendable {
    let directory: String
    let port: Int
    private let binaries: String
    private let owner: String?

    /// The one server of this test process, started on first use.
    static let shared: Result<PostgresServer, TestSetupError> = {
        do {
            let server = try PostgresServer()
            atexit { if case .success(let server) = PostgresServer.shared { server.stop() } }
            return .success(server)
        } catch let error as TestSetupError { return .failure(error) } catch {
            return .failure(TestSetupError("\(error)"))
        }
    }()

    /// A fresh, empty database on the shared server; returns its URL.
    static func makeDatabase() throws -> String {
        try shared.get().makeDatabase()
    }

    /// The address it listens on (TCP), and the URL host part to reach it.
    let address: String

    /// A server of its own, for a test that stops and starts it; on 127.0.0.1, or only on
    /// `address` with clients of `clients` (a CIDR) let in too.
    init(address: String = "127.0.0.1", clients: String? = nil) throws {
        self.address = address
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw TestSetupError("PostgreSQL is not installed (tools/setup installs it)")
        }
        binaries = "/usr/lib/postgresql/\(newest)/bin"
        directory = try TestPlugins.temporaryDirectory() + "/postgres"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // initdb refuses to run as root: the cluster belongs to the postgres user then.
        owner = getuid() == 0 ? "postgres" : nil
        if let owner { try Self.check(TestPlugins.run("/usr/bin/chown", [owner, directory]), "chown") }
        port = try Self.freePort()
        try check(run("initdb", ["-A", "trust", "-U", "postgres", "-D", directory + "/data", "--no-sync"]), "initdb")
        if let clients {
            let hba = directory + "/data/pg_hba.conf"
            let rules = try String(contentsOfFile: hba, encoding: .utf8) + "\nhost all all \(clients) trust\n"
            try rules.write(toFile: hba, atomically: false, encoding: .utf8)
        }
        try start()
    }

    private func start() throws {
        try check(run("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "start",
                                 "-o", "-h \(address) -p \(port) -k \(directory) -F"]), "pg_ctl start")
    }

    /// A fresh, empty database on this server; returns its URL.
    func makeDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql("CREATE DATABASE \(name)")
        return "postgres://postgres@\(address):\(port)/\(name)"
    }

    /// Stops the server (dropping every connection), waits `pause`, starts it again.
    func restart(pause: Duration) throws {
        try check(run("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"]), "pg_ctl stop")
        Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
        try start()
    }

    func stop() {
        _ = try? run("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    func psql(_ sql: String) throws {
        try check(run("psql", ["-h", address, "-p", String(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql]), "psql")
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> TestPlugins.ProcessResult {
        if let owner { return try TestPlugins.run("/usr/sbin/runuser", ["-u", owner, "--", binaries + "/" + tool] + arguments) }
        return try TestPlugins.run(binaries + "/" + tool, arguments)
    }

    private func check(_ result: TestPlugins.ProcessResult, _ step: String) throws { try Self.check(result, step) }

    private static func check(_ result: TestPlugins.ProcessResult, _ step: String) throws {
        guard result.status == 0 else { throw TestSetupError("\(step) failed (\(result.status)): \(result.error)\(result.output)") }
    }

    /// A loopback port nobody listens on now.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
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
