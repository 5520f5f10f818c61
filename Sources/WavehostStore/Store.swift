import Foundation
import Logging
import Synchronization

/// Wavehost's durable state — workflows, runs, interactions, effects and the audit
/// events — on one of two backends: a SQLite file (the embedded default) or PostgreSQL
/// (several hosts). Thread-safe: calls take turns on one connection (its ``Mutex``), which
/// is replaced when PostgreSQL goes away and comes back.
public final class Store: Sendable {
    public enum Backend: String, Sendable { case sqlite, postgres }

    public let backend: Backend
    /// The database, for messages: a file path or a URL without its password.
    public let database: String
    /// How long to keep trying when the database is unreachable before giving up.
    public var reconnectFor: Duration {
        get { state.withLock { $0.reconnectFor } }
        set { state.withLock { $0.reconnectFor = newValue } }
    }

    /// The connection calls take turns on, and how long to wait for it to come back.
    private struct State {
        var connection: any SQLConnection
        var reconnectFor: Duration = .seconds(120)
    }

    private let connect: @Sendable () throws(StoreError) -> any SQLConnection
    private let state: Mutex<State>
    private let logger = Logger(label: "wavehost.store")
    /// PostgreSQL only: a second connection that LISTENs for work, with its own lock, so a
    /// host waiting for work never holds up the journal's commits.
    private let listener = Mutex<PostgresConnection?>(nil)
    /// Declared tables' schemas as this process last declared or read them, by qualified name:
    /// a `lookup` per interaction reads no registry.
    let schemas = Mutex<[String: TableSchema]>([:])

    /// Opens `location` — a `postgres://` or `postgresql://` URL, or a SQLite file path —
    /// and brings its schema up to date.
    public convenience init(location: String) throws(StoreError) {
        if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
            try self.init(backend: .postgres, database: PostgresConnection.redact(location)) { () throws(StoreError) in
                try PostgresConnection(url: location)
            }
        } else {
            try self.init(backend: .sqlite, database: location) { () throws(StoreError) in try SQLiteConnection(path: location) }
        }
    }

    /// The store at `--database`, else `WAVEHOST_DATABASE_URL`, else `./wavehost.db`.
    public static func defaultLocation(_ option: String?) -> String {
        option ?? ProcessInfo.processInfo.environment["WAVEHOST_DATABASE_URL"] ?? "wavehost.db"
    }

    init(backend: Backend, database: String, connect: @escaping @Sendable () throws(StoreError) -> any SQLConnection) throws(StoreError) {
        self.backend = backend
        self.database = database
        self.connect = connect
        let connection = try connect()
        try Migrations.migrate(connection)
        state = Mutex(State(connection: connection))
    }

    /// Runs `body` with the connection, alone. When the database is unreachable it waits
    /// and reconnects, then runs `body` again — so `body` must be safe to repeat (the
    /// journal's commits check their marker first).
    func withConnection<T: Sendable>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try state.withLock { (state: inout State) throws(StoreError) -> T in
            try Self.withConnection(&state, body, connect: connect, database: database, logger: logger)
        }
    }

    /// ``withConnection(_:)`` under the lock: `state` is this store's, held.
    private static func withConnection<T: Sendable>(_ state: inout State, _ body: (any SQLConnection) throws(StoreError) -> T,
                                          connect: () throws(StoreError) -> any SQLConnection, database: String,
                                          logger: Logger) throws(StoreError) -> T {
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: state.reconnectFor)
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try body(state.connection)
            } catch where error.code == .unavailable && clock.now < giveUp {
                logger.warning("database unavailable, reconnecting", metadata: ["database": "\(database)", "error": "\(error.message)"])
                while clock.now < giveUp {
                    Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds))
                    delay = min(delay * 2, .seconds(2))
                    // Still unreachable: wait and try again until giving up, when `body`'s
                    // `unavailable` error is thrown (the warning above is already in the log).
                    if let fresh = try? connect() {
                        state.connection = fresh
                        logger.notice("database reachable again", metadata: ["database": "\(database)"])
                        break
                    }
                }
            }
        }
    }

    /// Waits up to `timeout` for other hosts to add runs or hand back leases
    /// (``notifyWork()``); true when told. PostgreSQL LISTENs on a connection of its own;
    /// SQLite (one host) and a listener that cannot connect just sleep: the caller's
    /// timeout is then the slow poll that stands in for the notification.
    public func waitForWork(timeout: Duration) -> Bool {
        listener.withLock { listener in waitForWork(timeout: timeout, &listener) }
    }

    private func waitForWork(timeout: Duration, _ listener: inout PostgresConnection?) -> Bool {
        if backend == .postgres {
            do {
                if listener == nil, let fresh = try connect() as? PostgresConnection {
                    try fresh.listen(Store.workChannel)
                    listener = fresh
                }
                if let listener { return try listener.waitForNotification(timeout: timeout) }
            } catch {
                listener = nil  // reconnected on the next wait
                logger.debug("cannot listen for work; polling", metadata: ["error": "\(error.message)"])
            }
        }
        Thread.sleep(forTimeInterval: Double(timeout.milliseconds) / 1000)
        return false
    }

    /// Now, in Unix milliseconds: the unit of every time the engine writes. A host's own
    /// clock: used for the times recorded, never for leases (those use the database's).
    package static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000 + testClockOffset
    }

    /// TEST ONLY: `WAVEHOST_TEST_CLOCK_OFFSET_MS` moves this host's clock (debug builds
    /// only), so a test can run a host whose clock is wrong without faketime.
    static let testClockOffset: Int64 = {
        #if DEBUG
        return ProcessInfo.processInfo.environment["WAVEHOST_TEST_CLOCK_OFFSET_MS"].flatMap { Int64($0) } ?? 0
        #else
        return 0
        #endif
    }()
}
