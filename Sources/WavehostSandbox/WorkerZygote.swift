import CWavehostShims
import Foundation
import Synchronization

/// Starts workers by asking a zygote to fork one: a `wavehost-worker zygote` the host
/// started once per worker executable, which has already paid for the exec, the dynamic
/// loader and the Swift runtime's start (about 3 ms of a 5 ms cold start). Each child is
/// the host's own child (`CLONE_PARENT`) and applies every sandbox layer itself, exactly
/// as a spawned worker does; the zygote never loads a plugin (wavehost_zygote.h).
///
/// When no zygote can serve (it cannot start, dies, or the request is too large), workers
/// are spawned as before: a zygote only ever saves time.
package enum WorkerZygote {
    private static let zygotes = Mutex<[String: Zygote]>([:])
    /// Worker executables whose zygote could not start or refused to serve (a sanitized
    /// build): not tried again, so each of their starts costs one spawn, not two.
    private static let unavailable = Mutex<Set<String>>([])
    /// `WAVEHOST_WORKER_ZYGOTE=0` in the host's environment spawns every worker afresh
    /// (the bench turns it off and on to measure both).
    package static let enabled = Atomic<Bool>(ProcessInfo.processInfo.environment["WAVEHOST_WORKER_ZYGOTE"] != "0")

    /// Starts `workerPath` with `arguments`, `descriptors` mapped and exactly `environment`,
    /// as ``spawn(_:_:descriptors:environment:)`` does: through the zygote when it can.
    package static func start(_ workerPath: String, _ arguments: [String], descriptors: [(parent: Int32, child: Int32)],
                              environment: [String: String]) -> Result<pid_t, SpawnError>
    {
        if enabled.load(ordering: .relaxed), let zygote = zygote(for: workerPath) {
            switch zygote.fork(arguments, descriptors: descriptors, environment: environment) {
            case .child(let pid): return .success(pid)
            case .tooLarge: break
            case .broken:
                zygotes.withLock { if $0[workerPath] === zygote { $0[workerPath] = nil } }
                zygote.end()
            }
        }
        return spawn(workerPath, arguments, descriptors: descriptors, environment: environment)
    }

    /// The pid of the zygote serving `workerPath`, if one runs.
    package static func processID(for workerPath: String) -> pid_t? { zygotes.withLock { $0[workerPath]?.pid } }

    private static func zygote(for workerPath: String) -> Zygote? {
        if let running = zygotes.withLock({ $0[workerPath] }) { return running }
        if unavailable.withLock({ $0.contains(workerPath) }) { return nil }
        // Started on a thread that never ends: the zygote and every worker it forks have it
        // as their parent, and a parent thread's exit would fire their death signals.
        guard let started = Keeper.shared.run({ Zygote(workerPath: workerPath) }) else {
            unavailable.withLock { _ = $0.insert(workerPath) }
            return nil
        }
        return zygotes.withLock { zygotes in
            if let other = zygotes[workerPath] {
                started.end()
                return other
            }
            zygotes[workerPath] = started
            return started
        }
    }
}

/// One zygote process and the host's end of its socket. Requests are served one at a time.
private final class Zygote: Sendable {
    let pid: pid_t
    private let control: Int32
    /// Held while a request is served; true once the zygote has ended (its socket closed:
    /// the number may already belong to another descriptor, so nothing may use it again).
    private let ended = Mutex(false)

    enum Forked { case child(pid_t), tooLarge, broken }

    /// Nil when the zygote cannot start or says it cannot serve.
    init?(workerPath: String) {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return nil }
        let childEnd = highDescriptor(pair[1])
        // A long command line: each child rewrites it to its own within this room, so that ps
        // and /proc/PID/cmdline show what each worker runs.
        let room = String(repeating: "-", count: 4096)
        let spawned = spawn(workerPath, ["zygote", room], descriptors: [(childEnd, 3)],
                            environment: WorkerEnvironment.build(scratch: "/nonexistent", granted: []))
        close(childEnd)
        guard case .success(let pid) = spawned else { close(pair[0]); return nil }
        self.pid = pid
        control = pair[0]
        // The zygote says it is ready (0) or why it cannot serve (-errno) before anything else.
        guard let hello = Self.answer(on: control, within: 5_000), hello == 0 else {
            end()
            return nil
        }
    }

    /// A new worker's pid; or the request is too large for a zygote; or this one no longer serves.
    func fork(_ arguments: [String], descriptors: [(parent: Int32, child: Int32)], environment: [String: String]) -> Forked {
        var request: [UInt8] = []
        func u32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { request += $0 } }
        u32(arguments.count + 1)
        u32(environment.count)
        u32(descriptors.count)
        for (_, child) in descriptors { withUnsafeBytes(of: child.littleEndian) { request += $0 } }
        for text in ["wavehost-worker"] + arguments + environment.map({ "\($0.key)=\($0.value)" }) {
            request += text.utf8
            request.append(0)
        }
        guard request.count <= WH_ZYGOTE_REQUEST_BYTES, descriptors.count <= WH_ZYGOTE_DESCRIPTORS else { return .tooLarge }
        return ended.withLock { ended -> Forked in
            guard !ended, send(request, descriptors.map(\.parent)) else { return .broken }
            guard let answer = Self.answer(on: control, within: 5_000), answer > 0 else { return .broken }
            return .child(pid_t(answer))
        }
    }

    /// Closes the socket (the zygote exits when it reads the end), kills and reaps it; once,
    /// whoever of several callers that met a broken zygote comes first.
    func end() {
        let first = ended.withLock { ended -> Bool in
            defer { ended = true }
            if !ended { close(control) }
            return !ended
        }
        guard first else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    private func send(_ request: [UInt8], _ descriptors: [Int32]) -> Bool {
        request.withUnsafeBytes { bytes in
            wh_zygote_send(control, bytes.baseAddress, bytes.count, descriptors, Int32(descriptors.count)) == bytes.count
        }
    }

    /// One i32 from the zygote within `milliseconds`; nil if it stays silent or is gone.
    private static func answer(on control: Int32, within milliseconds: Int32) -> Int32? {
        var ready = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
        let deadline = monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
        while true {
            let polled = poll(&ready, 1, pollTimeout(until: deadline))
            if polled < 0 && errno == EINTR { continue }
            guard polled > 0 else { return nil }
            var value: Int32 = 0
            let got = recv(control, &value, 4, 0)
            if got < 0 && errno == EINTR { continue }
            return got == 4 ? value : nil
        }
    }
}

/// A thread that lives as long as the host and runs what it is handed, waiting for it.
private final class Keeper: @unchecked Sendable {
    static let shared = Keeper()
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "wavehost-zygote-keeper"
        thread.start()
    }

    /// `body`'s result, run on the keeper's thread.
    func run<T>(_ body: @escaping () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        var result: T?
        condition.lock()
        jobs.append {
            result = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result!
    }
}
