import Foundation

// A copy of Tests/HostTests/Support/PostgresServer.swift: test targets cannot share sources.

/// A real, throwaway PostgreSQL server for tests: initdb into a temporary folder,
/// listening on 127.0.0.1 only, stopped when the test process exits. Each test makes
/// its own database on it.
final class PostgresServer: @unchecked Sendable {
    let directory: String
    let port: Int
    private let binaries: String
    private let owner: String?

    /// The one server of this test process, started on first use.
    static let shared: Result<PostgresServer, SetupError> = {
        do {
            let server = try PostgresServer()
            atexit { if case .success(let server) = PostgresServer.shared { server.stop() } }
            return .success(server)
        } catch let error as SetupError { return .failure(error) } catch {
            return .failure(SetupError("\(error)"))
        }
    }()

    /// A fresh, empty database on the shared server; returns its URL.
    static func makeDatabase() throws -> String {
        try shared.get().makeDatabase()
    }

    /// A server of its own, for a test that stops and starts it.
    init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw SetupError("PostgreSQL is not installed (tools/setup installs it)")
        }
        binaries = "/usr/lib/postgresql/\(newest)/bin"
        directory = try DashboardFixtures.temporaryDirectory() + "/postgres"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // initdb refuses to run as root: the cluster belongs to the postgres user then.
        owner = getuid() == 0 ? "postgres" : nil
        if let owner { try Self.check(DashboardFixtures.run("/usr/bin/chown", [owner, directory]), "chown") }
        port = try Self.freePort()
        try check(run("initdb", ["-A", "trust", "-U", "postgres", "-D", directory + "/data", "--no-sync"]), "initdb")
        try check(run("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "start",
                                 "-o", "-h 127.0.0.1 -p \(port) -k \(directory) -F"]), "pg_ctl start")
    }

    /// A fresh, empty database on this server; returns its URL.
    func makeDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql("CREATE DATABASE \(name)")
        return "postgres://postgres@127.0.0.1:\(port)/\(name)"
    }

    /// Stops the server (dropping every connection), waits `pause`, starts it again.
    func restart(pause: Duration) throws {
        try check(run("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"]), "pg_ctl stop")
        Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
        try check(run("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "start",
                                 "-o", "-h 127.0.0.1 -p \(port) -k \(directory) -F"]), "pg_ctl start")
    }

    func stop() {
        _ = try? run("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    func psql(_ sql: String) throws {
        try check(run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql]), "psql")
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> DashboardFixtures.ProcessResult {
        if let owner { return try DashboardFixtures.run("/usr/sbin/runuser", ["-u", owner, "--", binaries + "/" + tool] + arguments) }
        return try DashboardFixtures.run(binaries + "/" + tool, arguments)
    }

    private func check(_ result: DashboardFixtures.ProcessResult, _ step: String) throws { try Self.check(result, step) }

    private static func check(_ result: DashboardFixtures.ProcessResult, _ step: String) throws {
        guard result.status == 0 else { throw SetupError("\(step) failed (\(result.status)): \(result.error)\(result.output)") }
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
        guard bound else { throw SetupError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
