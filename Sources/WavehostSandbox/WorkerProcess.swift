import ActorABI
import ActorRuntime
import CWavehostShims
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// One `wavehost-worker` serving one actor instance over a socketpair.
///
/// Not thread-safe: a pool hands each worker to one caller at a time. Every wait is
/// bounded by the call's deadline; the host never blocks on a worker.
///
/// `@unchecked Sendable` because it is owned, not shared: its mutable state (the inbox,
/// the stderr tail, counts) is only used by the one caller the pool handed it to, between
/// taking it out of the pool's idle list and putting it back, both under the pool's lock.
/// A lock of its own would cost an acquisition per call on the invoke path for nothing.
/// Not `Sendable` and moved as `sending` instead: Swift 6.3 will not send a value captured
/// by `Mutex.withLock`'s closure into the locked state ("'inout sending' parameter cannot be
/// task-isolated"), so the idle list could take it only through `nonisolated(unsafe)`, the
/// same promise. Nor a struct handed out by value: `deinit` retires a worker dropped on
/// any path, and a `~Copyable` one cannot sit in an `Array`.
final class WorkerProcess: @unchecked Sendable {
    let pid: pid_t
    let actor: String
    /// What the worker said about itself when ready (its sandbox layers among it).
    private(set) var facts: JSON = [:]
    private let socket: Int32
    private let stderrPipe: Int32
    private let limits: SandboxLimits
    private var stderrTail = OutputTail()
    private var inbox: WireInbox
    /// Set once the worker's stderr reached end of file: it is exiting, or its actor closed its stdio.
    private var stderrClosed = false
    private(set) var calls = 0
    private(set) var isAlive = true
    /// The worker's scratch folder and cgroup, removed by whoever retires it.
    var scratch: String?
    var cgroup: String?

    /// Starts a worker for `pluginPath` with `config`, and waits (up to `startTimeout`
    /// nanoseconds) for it to load the plugin and create the instance.
    init(workerPath: String, pluginPath: String, actor: String, config: [UInt8], limits: SandboxLimits,
         scratch: String, startTimeout: UInt64, log: HostServicesTable.LogSink) throws(SandboxFailure)
    {
        self.actor = actor
        self.limits = limits
        // An answer over the limit was refused by the worker; anything bigger is a rogue write.
        inbox = WireInbox(limit: limits.outputBytes + 65_536)
        var pair: [Int32] = [0, 0]
        var errorPipe: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0,
              wh_pipe_cloexec(&errorPipe) == 0
        else { throw SandboxFailure(.startFailed, actor: actor, "cannot create the worker's channels: \(String(cString: strerror(errno)))") }
        let childSocket = highDescriptor(pair[1]), childStderr = highDescriptor(errorPipe[1])
        let arguments = ["serve", "--plugin", pluginPath, "--scratch", scratch] + limits.arguments
        let spawned = WorkerZygote.start(workerPath, arguments, descriptors: [(childSocket, 3), (childStderr, 2)],
                            environment: WorkerEnvironment.build(scratch: scratch, granted: limits.environment))
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
            // The facts (layers applied, start-up marks) are for reports only: a worker whose
            // ready carries none serves the same, and its layers are checked by the probe.
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
    func call(_ input: [UInt8], started: UInt64, deadline: UInt64, log: HostServicesTable.LogSink,
              http: HostHTTP? = nil) throws(SandboxFailure) -> [UInt8]
    {
        calls += 1
        guard UInt64(input.count) <= limits.inputBytes else {
            throw SandboxFailure(.actorFailed(.invalidInput), actor: actor,
                                 "input of \(input.count) bytes exceeds the limit of \(limits.inputBytes)")
        }
        try send(.invoke, input, deadline: deadline, started: started)
        let (header, payload) = try receive(deadline: deadline, started: started, log: log, http: http)
        let elapsed = monotonicNanoseconds() - started
        defer { retireIfStderrClosed() }
        guard header.kind == .result else { throw violation("expected a result, got \(header.kind)", elapsed: elapsed) }
        switch header.status {
        case WH_OK:
            let fault = payload.withUnsafeBytes { bytes -> JSONParseError? in
                do throws(JSONParseError) { try JSON.validate(bytes); return nil } catch { return error }
            }
            if let fault {
                throw SandboxFailure(.actorFailed(.invalidOutput), actor: actor, "output is not valid JSON: \(fault)", elapsedNanoseconds: elapsed)
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

    /// A worker whose stderr is gone answers no more calls: the next would fail on the hang-up.
    private func retireIfStderrClosed() {
        if stderrClosed { retire() }
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

    /// Sends one frame, header and payload in one `sendmsg` while the socket takes it all.
    private func send(_ kind: WorkerWire.Kind, _ payload: [UInt8], deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        let header = WorkerWire.Header(kind: kind, length: UInt64(payload.count))
        let total = WorkerWire.headerSize + payload.count
        var sent = 0
        while sent < total {
            let count = header.withBytes { header in
                payload.withUnsafeBytes { WorkerWire.sendFrame(socket, header: header, payload: $0, from: sent) }
            }
            if count > 0 { sent += count; continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN {
                try wait(for: Int16(POLLOUT), deadline: deadline, started: started)
                continue
            }
            throw died(started: started)
        }
    }

    private func receive(deadline: UInt64, started: UInt64, log: HostServicesTable.LogSink, http: HostHTTP? = nil)
        throws(SandboxFailure) -> (WorkerWire.Header, [UInt8])
    {
        var logs = LogBudget()
        defer { logs.reportDropped(to: log) }
        while true {
            let frame: WireInbox.Frame?
            do throws(SandboxFailure) {
                // On every frame, not only when the socket is quiet: a flood must not hold the call.
                try checkDeadline(deadline, started: started)
                do { frame = try inbox.next() } catch { throw violation(error.description, elapsed: monotonicNanoseconds() - started) }
                if frame == nil { try fill(deadline: deadline, started: started) }
            } catch where error.code == .timedOut && logs.dropped > 0 {
                throw SandboxFailure(.timedOut, actor: actor, "\(error.message) while it flooded the wire with log frames "
                    + "(\(logs.dropped) over the limit of \(WorkerWire.logFramesPerCall) dropped)", elapsedNanoseconds: error.elapsedNanoseconds)
            }
            guard let frame else { continue }
            switch frame.header.kind {
            case .log:
                logs.pass(frame.header.status, frame.payload, to: log)
                // Past its budget, an actor's frames are taken slowly, so a flood costs the host little.
                if logs.dropped > 0 && logs.dropped % 50 == 0 { nap(atMost: 1_000_000, before: deadline) }
            case .httpRequest:
                // The actor's thread waits for this answer; the call's deadline bounds both.
                let request: HostHTTPRequest
                do { request = try HostHTTPWire.request(frame.payload) } catch {
                    throw violation(error.description, elapsed: monotonicNanoseconds() - started)
                }
                let response = http?.perform(request, deadline: deadline)
                    ?? HostHTTPResponse(failure: WH_ERR_FAILED, "\(request.method) \(request.url) refused: actor \(actor) has no network grant here")
                try send(.httpResponse, HostHTTPWire.encode(response), deadline: deadline, started: started)
            case .fatal:
                // The worker exits after a fatal frame: never hand it out again.
                let reason = WorkerWire.FatalReason(rawValue: frame.header.status)
                let starting = reason == .loadFailed || reason == .createFailed
                let elapsed = monotonicNanoseconds() - started
                retire()
                throw SandboxFailure(starting ? .startFailed : .protocolViolation, actor: actor,
                                     String(decoding: frame.payload, as: UTF8.self), elapsedNanoseconds: elapsed)
            default: return (frame.header, frame.payload)
            }
        }
    }

    /// Reads what the socket has, waiting for it until the deadline. It polls first: an
    /// answer is never there the instant a request is sent, and a read that finds
    /// nothing would only cost a system call.
    private func fill(deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        while true {
            try wait(for: Int16(POLLIN), deadline: deadline, started: started)
            let got = inbox.fill(from: socket)
            if got > 0 { return }
            if got < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            throw died(started: started)
        }
    }

    /// Polls the socket (and drains stderr) until it is ready or the deadline passes.
    /// A hang-up is ready too: the read that follows sees the end of the stream.
    private func wait(for events: Int16, deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        while true {
            // A closed stderr is left out, or poll would report its hang-up forever.
            var fds = (pollfd(fd: socket, events: events, revents: 0),
                       pollfd(fd: stderrClosed ? -1 : stderrPipe, events: Int16(POLLIN), revents: 0))
            let ready = withUnsafeMutableBytes(of: &fds) { poll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, pollTimeout(until: deadline)) }
            if ready < 0 && errno == EINTR { continue }
            if fds.1.revents != 0 && !stderrTail.drain(stderrPipe) { stderrClosed = true }
            if fds.0.revents != 0 { return }
            if stderrClosed { throw hungUp(started: started) }
            try checkDeadline(deadline, started: started)
        }
    }

    /// Past the deadline, kills the worker and fails the call as timed out.
    private func checkDeadline(_ deadline: UInt64, started: UInt64) throws(SandboxFailure) {
        guard monotonicNanoseconds() >= deadline else { return }
        let elapsed = monotonicNanoseconds() - started
        shutDown(killing: true)
        throw SandboxFailure(.timedOut, actor: actor, "timed out after \(elapsed / 1_000_000) ms; the worker was killed",
                             elapsedNanoseconds: elapsed)
    }

    /// The worker's stderr closed while its socket is quiet: it is exiting, or its actor
    /// closed its stdio. Either way this call is over.
    private func hungUp(started: UInt64) -> SandboxFailure { died(started: started, closing: "its stderr") }

    /// The worker closed `closing`: say how it ended. One that is exiting does so at once;
    /// one still running after 200 ms hung up on purpose, and is killed.
    private func died(started: UInt64, closing: String = "its socket") -> SandboxFailure {
        let elapsed = monotonicNanoseconds() - started
        let exited = hasExited(pid, within: 200_000_000)
        let status = shutDown(killing: !exited)
        let how = exited ? describeExit(status) : "closed \(closing) while still running, and was killed"
        let stderr = stderrTail.text.map { "; stderr: \($0)" } ?? ""
        return SandboxFailure(.crashed, actor: actor, "worker \(how)\(stderr)", elapsedNanoseconds: elapsed)
    }

    private func violation(_ message: String, elapsed: UInt64 = 0) -> SandboxFailure {
        shutDown(killing: true)
        return SandboxFailure(.protocolViolation, actor: actor, "worker broke the wire protocol: \(message)",
                              elapsedNanoseconds: elapsed)
    }
}
