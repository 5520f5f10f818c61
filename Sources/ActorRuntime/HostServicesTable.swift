import ActorABI

/// The `wh_host_services` table handed to one instance, and what it points at.
/// Lives at least as long as the instance (the instance holds it).
public final class HostServicesTable: @unchecked Sendable {
    /// Receives the plugin's log messages; called from any thread the plugin logs on.
    public typealias LogSink = @Sendable (wh_log_level, String) -> Void

    private let log: LogSink
    let table: UnsafeMutablePointer<wh_host_services>

    /// `abiVersion` is the version negotiated with the plugin.
    init(abiVersion: UInt32, log: @escaping LogSink) {
        self.log = log
        table = .allocate(capacity: 1)
        table.initialize(to: wh_host_services(
            struct_size: UInt32(MemoryLayout<wh_host_services>.size),
            abi_version: abiVersion,
            context: nil,
            log: hostLog
        ))
        table.pointee.context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { table.deallocate() }

    fileprivate func forward(_ level: wh_log_level, _ message: String) { log(level, message) }
}

private func hostLog(_ context: UnsafeMutableRawPointer?, _ level: wh_log_level,
                     _ message: UnsafePointer<CChar>?, _ length: Int)
{
    guard let context, let message else { return }
    let services = Unmanaged<HostServicesTable>.fromOpaque(context).takeUnretainedValue()
    let text = UnsafeRawPointer(message).withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    services.forward(level, text)
}
