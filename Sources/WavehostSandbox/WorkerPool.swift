import ActorABI
import ActorRuntime
import Dispatch
import Foundation
import Metrics
import Synchronization
import WavehostJSON
import WavehostMetrics

/// Warm `wavehost-worker` processes for one actor version and config, so a call pays
/// a round trip, not a process start. Thread-safe; each call has its own deadline,
/// which also bounds the wait for a free worker.
public final class WorkerPool: Sendable {
    public struct Configuration: Sendable {
        /// Workers kept at most (and calls served at once).
        public var size = 2
        /// Retire a worker after this many calls (nil: never).
        public var maxCallsPerWorker: Int?
        /// Retire a worker whose resident memory grew past this (nil: never).
        public var maxResidentBytes: UInt64?
        /// How long a new worker may take to load the plugin and create the instance.
        public var startTimeout: Duration = .seconds(10)
        public var limits = SandboxLimits()
        public var workerPath = WorkerPool.defaultWorkerPath
        /// Each worker gets a fresh folder below this, the only place it may write.
        public var scratchRoot = NSTemporaryDirectory() + "wavehost-\(getuid())/scratch"
        /// As root: the uids (and gids, the same numbers) handed out, one per pool.
        public var uidRange = WorkerIdentity.defaultRange
        /// Sandbox layers the operator accepted as missing (`--allow-weak-sandbox LAYER`, or "all").
        public var weakLayersAccepted: [String] = []
        /// The variant's grants: the network, host variables passed through, paths it may read.
        public var networkGrant: NetworkGrant?
        public var environmentGrant: [String] = []
        public var readGrant: [String] = []
        /// The host's HTTP service for the actor (nil: it refuses every request).
        public var hostHTTP: HostHTTP?

        public init() {}

        /// The worker's limits with the grants, the weak layers and `identity` folded in.
        package func workerLimits(reading file: String, uid: UInt32?) -> SandboxLimits {
            var limits = self.limits
            limits.reads = [file] + readGrant + limits.reads
            limits.environment = environmentGrant
            limits.weakLayersAccepted = weakLayersAccepted
            limits.uid = uid
            limits.gid = uid
            return limits
        }
    }

    public let actor: String
    public let pluginPath: String
    /// The author's file, named in errors instead of the content-addressed copy a worker loads.
    public let sourcePath: String?
    /// As root: the pool's own uid (and gid); nil otherwise.
    public let uid: UInt32?
    private let config: [UInt8]
    private let configuration: Configuration
    private let log: HostServicesTable.LogSink
    private let slots: DispatchSemaphore
    private let state = Mutex(State())
    private let metrics: PoolMetrics

    private struct State {
        var idle: [WorkerProcess] = []
        var started = 0
        var retired = 0
        var layers: [String: String]?
        var lastStartup: [(stage: String, at: UInt64)] = []
    }

    /// A pool for `pluginPath` (the content-addressed copy to load) with `config`.
    /// Workers start on first use.
    public init(pluginPath: String, actor: String, config: [UInt8] = Array("{}".utf8),
                configuration: Configuration = Configuration(), sourcePath: String? = nil,
                log: @escaping HostServicesTable.LogSink = { _, _ in })
    {
        self.pluginPath = pluginPath
        self.sourcePath = sourcePath
        self.actor = actor
        self.config = config
        self.configuration = configuration
        self.log = log
        uid = WorkerIdentity.allocate(in: configuration.uidRange)
        slots = DispatchSemaphore(value: configuration.size)
        metrics = PoolMetrics(actor: actor)
    }

    deinit { shutdown() }

    /// Runs the actor on `input` in a worker and returns its output (valid JSON).
    /// Fails with a timeout at `timeout`, killing the worker; a crash fails only this call.
    public func invoke(_ input: [UInt8], timeout: Duration) throws(SandboxFailure) -> [UInt8] {
        let started = monotonicNanoseconds()
        let deadline = started + timeout.nanoseconds
        guard slots.wait(timeout: .now() + .nanoseconds(Int(min(timeout.nanoseconds, UInt64(Int.max))))) == .success else {
            throw SandboxFailure(.timedOut, actor: actor, "no worker became free within \(timeout)",
                                 elapsedNanoseconds: monotonicNanoseconds() - started)
        }
        defer { slots.signal() }
        let worker: WorkerProcess
        if let idle = state.withLock({ $0.idle.popLast() }) { worker = idle } else { worker = try startWorker() }
        do throws(SandboxFailure) {
            let output = try worker.call(input, started: started, deadline: deadline, log: log, http: configuration.hostHTTP)
            giveBack(worker)
            return output
        } catch {
            metrics.count(error)
            giveBack(worker)
            throw error
        }
    }

    /// The process ids of the idle workers (for tests that must tell this pool's workers
    /// from those of other pools in the same process).
    package var idleWorkerPIDs: [pid_t] { state.withLock { $0.idle.map(\.pid) } }

    /// Starts workers until `count` are idle (to pay start-up before traffic).
    public func warm(_ count: Int) throws(SandboxFailure) {
        let needed = max(0, min(count, configuration.size) - state.withLock { $0.idle.count })
        var started: [WorkerProcess] = []
        for _ in 0..<needed { started.append(try startWorker()) }
        state.withLock { $0.idle.append(contentsOf: started) }
    }

    /// Retires every idle worker; calls in flight finish, and their workers retire after.
    public func shutdown() {
        let idle = state.withLock { state in
            defer { state.idle = [] }
            return state.idle
        }
        idle.forEach(retire)
    }

    /// Workers started and retired so far, and what the sandbox reported (from the first worker).
    public var statistics: (started: Int, retired: Int, layers: [String: String]) {
        state.withLock { ($0.started, $0.retired, $0.layers ?? [:]) }
    }

    /// How the last worker's start went: monotonic nanoseconds at which each stage ended,
    /// from "begin" through "prepared" (the host's side: scratch, a readable copy) and the
    /// worker's own stages ("main": spawned, exec'd and linked; then its layers) to "ready".
    public var lastStartup: [(stage: String, at: UInt64)] { state.withLock { $0.lastStartup } }

    private func startWorker() throws(SandboxFailure) -> WorkerProcess {
        let began = monotonicNanoseconds()
        // The pool's uid must be able to read what it loads (a cache under a 0700 home cannot be).
        let loadable = try WorkerIdentity.readablePath(pluginPath, forOtherUser: uid)
        let scratch = try configuration.makeScratchFolder(for: actor, owner: uid)
        var limits = configuration.workerLimits(reading: loadable, uid: uid)
        let cgroup = WorkerIdentity.cgroupsAvailable ? "w\(getpid())-\((scratch as NSString).lastPathComponent)" : nil
        limits.cgroup = cgroup
        let prepared = monotonicNanoseconds()
        let worker: WorkerProcess
        do {
            worker = try WorkerProcess(workerPath: configuration.workerPath, pluginPath: loadable, actor: actor,
                                       config: config, limits: limits, scratch: scratch,
                                       startTimeout: configuration.startTimeout.nanoseconds, log: log)
        } catch {
            removeScratchFolder(scratch)
            if let cgroup { WorkerIdentity.removeCgroup(cgroup) }
            guard let sourcePath else { throw error }
            // The worker names the copy it loaded; the author knows only their own file.
            let message = error.message.replacingOccurrences(of: loadable, with: sourcePath)
                .replacingOccurrences(of: pluginPath, with: sourcePath)
            throw SandboxFailure(error.code, actor: actor, message, elapsedNanoseconds: error.elapsedNanoseconds)
        }
        worker.scratch = scratch
        worker.cgroup = cgroup
        let layers = Dictionary(uniqueKeysWithValues: (worker.facts["layers"]?.objectValue ?? []).compactMap { member in
            member.value.stringValue.map { (member.key, $0) }
        })
        let marks = (worker.facts["startup"]?.objectValue ?? []).compactMap { member in
            member.value.intValue.map { (stage: member.key, at: UInt64(max(0, $0))) }
        }
        let startup = [(stage: "begin", at: began), (stage: "prepared", at: prepared)] + marks
            + [(stage: "ready", at: monotonicNanoseconds())]
        state.withLock { state in
            state.started += 1
            if state.layers == nil { state.layers = layers }
            state.lastStartup = startup
        }
        metrics.started()
        SandboxProbe.warnOnce(about: layers)
        return worker
    }

    /// Returns a worker to the idle list, or retires it when dead or due for recycling.
    private func giveBack(_ worker: WorkerProcess) {
        let recycle = !worker.isAlive
            || configuration.maxCallsPerWorker.map { worker.calls >= $0 } ?? false
            || configuration.maxResidentBytes.map { (residentBytes(worker.pid) ?? 0) > $0 } ?? false
        if recycle { retire(worker) } else { state.withLock { $0.idle.append(worker) } }
    }

    private func retire(_ worker: WorkerProcess) {
        worker.retire()
        if let scratch = worker.scratch { removeScratchFolder(scratch) }
        if let cgroup = worker.cgroup { WorkerIdentity.removeCgroup(cgroup) }
        state.withLock { $0.retired += 1 }
        metrics.processes.decrement()
    }

    /// The worker executable: `$WAVEHOST_WORKER`, else `wavehost-worker` beside this program.
    public static var defaultWorkerPath: String {
        if let explicit = ProcessInfo.processInfo.environment["WAVEHOST_WORKER"], !explicit.isEmpty { return explicit }
        // Without /proc the worker is looked for beside nothing, and its start fails saying where it looked.
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("wavehost-worker").path
    }
}

extension WorkerPool.Configuration {
    /// A fresh folder below `scratchRoot`: the only place a worker may write. Mode 0700,
    /// owned by `owner` (the pool's uid, as root); the root above it is 0711, so a worker
    /// can reach its own folder but list no other.
    package func makeScratchFolder(for actor: String, owner: UInt32? = nil) throws(SandboxFailure) -> String {
        let scratch = scratchRoot + "/" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: scratchRoot, withIntermediateDirectories: true)
            chmod(scratchRoot, 0o711)
            chmod((scratchRoot as NSString).deletingLastPathComponent, 0o711)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw SandboxFailure(.startFailed, actor: actor, "cannot create scratch folder \(scratch): \(error)")
        }
        if let owner, chown(scratch, owner, owner) != 0 {
            removeScratchFolder(scratch)
            throw SandboxFailure(.startFailed, actor: actor, "cannot give scratch folder \(scratch) to uid \(owner): \(String(cString: strerror(errno)))")
        }
        return scratch
    }
}

/// Removes a scratch folder and whatever the actor left in it.
package func removeScratchFolder(_ scratch: String) {
    // Best effort: the folder is this worker's alone under the scratch root, and what is
    // left of it harms no other worker (each gets a fresh one).
    try? FileManager.default.removeItem(atPath: scratch)
}

/// Resident memory of a process, from /proc (read with read(2): Foundation truncates /proc files).
func residentBytes(_ pid: pid_t) -> UInt64? {
    let fd = open("/proc/\(pid)/statm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    let fields = String(decoding: buffer[..<count], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
    return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
}

extension Duration {
    /// Inlinable: every call's deadline is made from its timeout.
    @inlinable
    package var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}

/// A pool's instruments, labelled by actor (see ``HostMetrics``); no-ops without a backend.
private struct PoolMetrics: Sendable {
    /// Live workers: up when one starts, down when one retires.
    let processes: Meter
    let starts, kills, timeouts, crashes: Counter

    init(actor: String) {
        let dimensions = [("actor", actor)]
        processes = Meter(label: HostMetrics.workerProcesses, dimensions: dimensions)
        starts = Counter(label: HostMetrics.workerStarts, dimensions: dimensions)
        kills = Counter(label: HostMetrics.workerKills, dimensions: dimensions)
        timeouts = Counter(label: HostMetrics.workerTimeouts, dimensions: dimensions)
        crashes = Counter(label: HostMetrics.workerCrashes, dimensions: dimensions)
    }

    func started() {
        starts.increment()
        processes.increment()
    }

    /// A call that failed in a worker: at a timeout the worker was killed; a crash ended it.
    func count(_ failure: SandboxFailure) {
        switch failure.code {
        case .timedOut:
            timeouts.increment()
            kills.increment()
        case .crashed: crashes.increment()
        default: break
        }
    }
}
