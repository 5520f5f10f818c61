import ActorABI
import CWavehostShims
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// One `wavehost-worker` serving one actor instance over a socketpair.
///
/// Not thread-safe: a pool hands each worker to one caller at a time. Every wait is
/// bounded by the call's deadline; the host never blocks on a worker.
final class WorkerProcess: @unchecked Sendable {
    let pid: pid_t
    let actor: String
    /// What the worker said about itself when ready (its sandbox layers among it).
    private(set) var facts: JSON = [:]
    private let socket: Int32
    private let stderrPipe: Int32
    private let limits: SandboxLimits
    private var stderrTail = OutputTail()
    private(set) var calls = 0
    private(set) var isAlive = true
    /// The worker's scratch folder, removed by whoever retires it.
    var scratch: String?

    /// Starts a worker for `pluginPath` with `config`, and waits (up to `startTimeout`
    /// nanoseconds) for it to load the plugin and create the instance.
    init(workerPath: String, pluginPath: String, actor: String, config: [UInt8], limits: SandboxLimits,
         scratch: String, startTimeout: UInt64, log: HostServicesTable.LogSink) throws(SandboxFailure)
    {
        self.actor = actor
        self.limits = limits
        var pair: [Int32] = [0, 0]
        var errorPipe: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0,
              wh_pipe_cloexec(&errorPipe) == 0
        else { throw SandboxFailure(.startFailed, actor: actor, "cannot create the worker's channels: \(String(cString: strerror(errno)))") }
        let childSocket = highDescriptor(pair[1]), childStderr = highDescriptor(errorPipe[1])
        let arguments = ["serve", "--plugin", pluginPath, "--scratch", scratch] + limits.arguments
        let spawned = spawn(workerPath, arguments, descriptors: [(childSocket, 3), (childStderr, 2)])
        // Close the child's ends now: while the host holds them, a worker's death is no hang-up.
        close(childSocket)
        close(childStderr)
        switch spawned {
        case .success(let pid): self.pid = pid
        case .failure(let error):
            close(pair[0]); close(errorPipe[0])
            throw SandboxFailure(.startFailed, actor: actor, error.description)
        }
        socket = pair[0]
        stderrPipe = errorPipe[0]
        setNonBlocking(socket)
        setNonBlocking(stderrPipe)

        let deadline = monotonicNanoseconds() + startTimeout
        do throws(SandboxFailure) {
            try send(.hello, config, deadline: deadline, started: monotonicNanoseconds())
            let (header, payload) = try receive(deadline: deadline, started: monotonicNanoseconds(), log: log)
            guard header.kind == .ready else { throw violation("expected ready, got \(header.kind)") }
            facts = (try? JSON.parse(payload)) ?? [:]
        } catch {
            retire()
            throw SandboxFailure(.startFailed, actor: actor, "worker did not start: \(error.message)",
                                 elapsedNanoseconds: error.elapsedNanoseconds)
        }
    }

    deinit { retire() }

    /// Sends `input` and waits for the answer until `deadline`; failures report the time
    /// since `started` (both monotonic nanoseconds). On a timeout, crash or protocol
    /// violation the worker is dead afterwards.
    func call(_ input: [UInt8], started: UInt64, deadline: UInt64, log: HostServicesTable.LogSink) throws(SandboxFailure)
        -> [UInt8]
    {
        calls += 1
        guard UInt64(input.count) <= limits.inputBytes else {
            throw SandboxFailure(.actorFailed(.invalidInput), actor: actor,
                                 "input of \(input.count) bytes exceeds the limit of \(limits.inputBytes)")
        }
        try send(.invoke, input, deadline: deadline, started: started)
        let (header, payload) = try receive(deadline: deadline, started: started, log: log)
        let elapsed = monotonicNanoseconds() - started
        guard header.kind == .result else { throw violation("expected a result, got \(header.kind)", elapsed: elapsed) }
        switch header.status {
        case WH_OK:
            let valid = payload.withUnsafeBytes { (try? JSON.validate($0)) != nil }
            guard valid else {
                throw SandboxFailure(.actorFailed(.invalidOutput), actor: actor, "output is not valid JSON", elapsedNanoseconds: elapsed)
            }
            return payload
        case WorkerWire.statusOutputTooLarge:
            throw SandboxFailure(.outputTooLarge, actor: actor, String(decoding: payload, as: UTF8.self), elapsedNanoseconds: elapsed)
        case WorkerWire.statusInvalidOutput:
            throw SandboxFailure(.actorFailed(.invalidOutput), actor: actor, String(decoding: payload, as: UTF8.self),
                                 elapsedNanoseconds: elapsed)
        default:
            let status = ActorFailure.Status(header.status)
            let message = String(decoding: payload, as: UTF8.self)
            throw SandboxFailure(.actorFailed(status), actor: actor, "\(status)\(message.isEmpty ? "" : ": \(message)")",
                                 elapsedNanoseconds: elapsed)
        }
    }

    /// Closes the channel and reaps the worker (it exits when its socket closes).
    func retire() { shutDown(killing: false) }

    /// The one way a worker ends: close the channel, kill it or let it exit, reap it,
    /// keep the last of its stderr. Returns its wait status (0 if it had already ended).
    @discardableResult
    private func shutDown(killing: Bool) -> Int32 {
        guard isAlive else { return 0 }
        isAlive = false
        close(socket)
        let status = killing ? terminate(pid) : reap(pid)
        _ = stderrTail.drain(stderrPipe)
        close(stderrPipe)
        return status
    }

    // MARK: - Framing with deadlines

    private func send(_ kind: WorkerWire.Kind, _ payload: [UInt8], deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        let header = WorkerWire.Header(kind: kind, length: UInt64(payload.count)).bytes
        try write(header, deadline: deadline, started: started)
        try write(payload, deadline: deadline, started: started)
    }

    private func write(_ bytes: [UInt8], deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if count > 0 { offset += count; continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN {
                try wait(for: Int16(POLLOUT), deadline: deadline, started: started)
                continue
            }
            throw died(started: started)
        }
    }

    private func receive(deadline: UInt64, started: UInt64, log: HostServicesTable.LogSink) throws(SandboxFailure)
        -> (WorkerWire.Header, [UInt8])
    {
        while true {
            var raw = try read(WorkerWire.headerSize, deadline: deadline, started: started)
            let header: WorkerWire.Header
            do { header = try raw.withUnsafeBytes { bytes in Result { () throws(WorkerWire.WireError) in try WorkerWire.Header(bytes) } }.get() } catch {
                throw violation(error.description, elapsed: monotonicNanoseconds() - started)
            }
            // An answer over the limit was refused by the worker; anything bigger is a rogue write.
            let limit = limits.outputBytes + 65_536
            guard header.length <= limit else {
                throw violation("a frame of \(header.length) bytes exceeds the limit of \(limit)", elapsed: monotonicNanoseconds() - started)
            }
            raw = try read(Int(header.length), deadline: deadline, started: started)
            switch header.kind {
            case .log: log(header.status, String(decoding: raw, as: UTF8.self))
            case .fatal:
                // The worker exits after a fatal frame: never hand it out again.
                let reason = WorkerWire.FatalReason(rawValue: header.status)
                let starting = reason == .loadFailed || reason == .createFailed
                let elapsed = monotonicNanoseconds() - started
                retire()
                throw SandboxFailure(starting ? .startFailed : .protocolViolation, actor: actor,
                                     String(decoding: raw, as: UTF8.self), elapsedNanoseconds: elapsed)
            default: return (header, raw)
            }
        }
    }

    private func read(_ count: Int, deadline: UInt64, started: UInt64) throws(SandboxFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(socket, $0.baseAddress! + offset, count - offset) }
            if got > 0 { offset += got; continue }
            if got < 0 && errno == EINTR { continue }
            if got < 0 && errno == EAGAIN {
                try wait(for: Int16(POLLIN), deadline: deadline, started: started)
                continue
            }
            throw died(started: started)
        }
        return buffer
    }

    /// Polls the socket (and drains stderr) until it is ready or the deadline passes.
    private func wait(for events: Int16, deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        while true {
            var fds = [pollfd(fd: socket, events: events, revents: 0), pollfd(fd: stderrPipe, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, pollTimeout(until: deadline))
            if ready < 0 && errno == EINTR { continue }
            if fds[1].revents != 0 { _ = stderrTail.drain(stderrPipe) }
            if fds[0].revents != 0 { return }
            if monotonicNanoseconds() >= deadline {
                let elapsed = monotonicNanoseconds() - started
                shutDown(killing: true)
                throw SandboxFailure(.timedOut, actor: actor,
                                     "timed out after \(elapsed / 1_000_000) ms; the worker was killed",
                                     elapsedNanoseconds: elapsed)
            }
        }
    }

    /// The worker closed its end: reap it and say how it ended.
    private func died(started: UInt64) -> SandboxFailure {
        let elapsed = monotonicNanoseconds() - started
        let status = shutDown(killing: false)
        let stderr = stderrTail.text.map { "; stderr: \($0)" } ?? ""
        return SandboxFailure(.crashed, actor: actor, "worker \(describeExit(status))\(stderr)", elapsedNanoseconds: elapsed)
    }

    private func violation(_ message: String, elapsed: UInt64 = 0) -> SandboxFailure {
        shutDown(killing: true)
        return SandboxFailure(.protocolViolation, actor: actor, "worker broke the wire protocol: \(message)",
                              elapsedNanoseconds: elapsed)
    }
}
