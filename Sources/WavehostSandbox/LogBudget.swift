import ActorABI
import ActorRuntime

/// The log frames of one call: the first ``WorkerWire/logFramesPerCall`` reach the sink,
/// the rest are counted, dropped, and reported once.
struct LogBudget {
    private(set) var passed = 0
    private(set) var dropped = 0

    mutating func pass(_ level: Int32, _ payload: [UInt8], to log: HostServicesTable.LogSink) {
        guard passed < WorkerWire.logFramesPerCall else {
            dropped += 1
            return
        }
        passed += 1
        log(level, String(decoding: payload, as: UTF8.self))
    }

    func reportDropped(to log: HostServicesTable.LogSink) {
        guard dropped > 0 else { return }
        log(WH_LOG_WARN, "\(dropped) more log messages dropped: an actor may log \(WorkerWire.logFramesPerCall) per call")
    }
}
