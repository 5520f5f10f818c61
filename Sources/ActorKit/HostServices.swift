/// The services the host offers an actor instance (the ABI's `wh_host_services`).
/// Valid for the instance's lifetime; safe to use from any thread.
public struct HostServices: @unchecked Sendable {
    private let table: UnsafePointer<wh_host_services>?

    init(_ table: UnsafePointer<wh_host_services>?) { self.table = table }

    public enum LogLevel: Int32, Sendable {
        case trace = 0, debug, info, warn, error
    }

    /// Sends a message to the host's log. The host copies it before returning.
    public func log(_ level: LogLevel, _ message: String) {
        guard let table, let log = table.pointee.log else { return }
        var message = message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { log(table.pointee.context, level.rawValue, $0.baseAddress, $0.count) }
        }
    }
}
