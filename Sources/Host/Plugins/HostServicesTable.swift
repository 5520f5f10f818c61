import ActorABI
import Logging

/// The `wh_host_services` table handed to one instance, and what it points at.
/// Lives at least as long as the instance (the instance holds it).
final class HostServicesTable: @unchecked Sendable {
    private let logger: Logger
    let table: UnsafeMutablePointer<wh_host_services>

    /// `abiVersion` is the version negotiated with the plugin.
    init(logger: Logger, abiVersion: UInt32) {
        self.logger = logger
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

    fileprivate func log(_ level: wh_log_level, _ message: String) {
        let swiftLevel: Logger.Level = switch level {
        case WH_LOG_TRACE: .trace
        case WH_LOG_DEBUG: .debug
        case WH_LOG_INFO: .info
        case WH_LOG_WARN: .warning
        default: .error
        }
        logger.log(level: swiftLevel, "\(message)")
    }
}

private func hostLog(_ context: UnsafeMutableRawPointer?, _ level: wh_log_level,
                     _ message: UnsafePointer<CChar>?, _ length: Int)
{
    guard let context, let message else { return }
    let services = Unmanaged<HostServicesTable>.fromOpaque(context).takeUnretainedValue()
    let text = UnsafeRawPointer(message).withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    services.log(level, text)
}
