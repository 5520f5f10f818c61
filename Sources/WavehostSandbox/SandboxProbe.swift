import ActorRuntime
import Foundation
import Logging
import Synchronization
import WavehostJSON

/// What the sandbox can do on this machine, as the worker itself reports it.
public enum SandboxProbe {
    /// Runs `wavehost-worker probe` (with the network denied) and returns each layer's status.
    public static func layers(workerPath: String = WorkerPool.defaultWorkerPath, weakLayersAccepted: [String] = [])
        throws(SandboxFailure) -> [(layer: String, status: String)]
    {
        let scratch = NSTemporaryDirectory() + "wavehost-probe-\(UUID().uuidString)"
        // Without the folder the worker fails to start, and the probe reports that failure.
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }  // a temporary folder; cleanup only
        let process = Process()
        process.executableURL = URL(fileURLWithPath: workerPath)
        // As root, the probe runs as a pool would: under an unprivileged uid, in a cgroup if there is one.
        var limits = SandboxLimits()
        limits.weakLayersAccepted = weakLayersAccepted
        if let uid = WorkerIdentity.allocate(in: WorkerIdentity.defaultRange) {
            limits.uid = uid
            limits.gid = uid
            chown(scratch, uid, uid)
        }
        let cgroup = WorkerIdentity.cgroupsAvailable ? "probe-\(getpid())-\(UUID().uuidString)" : nil
        limits.cgroup = cgroup
        defer { if let cgroup { WorkerIdentity.removeCgroup(cgroup) } }
        process.arguments = ["probe", "--scratch", scratch] + limits.arguments
        process.environment = WorkerEnvironment.build(scratch: scratch, granted: [])
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            throw SandboxFailure(.startFailed, actor: "probe", "cannot run \(workerPath): \(error.localizedDescription)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // Not a report: the else branch says so, with what the worker printed.
        guard let report = try? JSON.parse(Array(data)), let members = report.objectValue else {
            throw SandboxFailure(.protocolViolation, actor: "probe", "the worker's probe answered \(String(decoding: data, as: UTF8.self))")
        }
        return members.map { ($0.key, $0.value.stringValue ?? $0.value.text) }
    }

    private static let warned = Mutex(false)

    /// Logs, once per process, each layer a worker reported as unavailable.
    static func warnOnce(about layers: [String: String], logger: Logger = Logger(label: "wavehost.sandbox")) {
        let missing = layers.filter { !$0.value.hasPrefix("ok") }.sorted { $0.key < $1.key }
        guard !missing.isEmpty, warned.withLock({ warned in defer { warned = true }; return !warned }) else { return }
        for (layer, status) in missing {
            logger.warning("sandbox layer \(layer) is \(status); the other layers still apply (see `wavehost doctor`)")
        }
    }
}
