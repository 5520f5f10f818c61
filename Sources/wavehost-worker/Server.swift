import ActorABI
import ActorRuntime
import CWavehostShims
import Synchronization
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// The worker's conversation with its host: hello → ready, then invoke → result, until
/// the host closes the socket. Log messages from the actor travel as `log` frames.
struct Server {
    let socket: Int32
    let pluginPath: String
    let limits: SandboxLimits
    let layers: SandboxLayers

    func run() -> Never {
        // Stray prints by the actor must never reach the socket: stdout joins stderr,
        // which the host captures for error reports.
        dup2(STDERR_FILENO, STDOUT_FILENO)
        let sender = Sender(socket: socket)
        // An HTTP answer from the host may be as large as the actor's response limit allows.
        let inbox = Inbox(socket: socket, limit: max(limits.inputBytes, limits.httpResponseBytes + (1 << 20)))

        let config: [UInt8]
        do {
            guard let hello = try inbox.receive(), hello.header.kind == .hello else {
                fatal(sender, .protocolViolation, "expected a hello frame first")
            }
            config = hello.payload
        } catch { fatal(sender, .protocolViolation, error.description) }

        if let refusal = layers.refusal { fatal(sender, .loadFailed, refusal) }
        let instance: ActorInstance
        do {
            let image = try PluginImage(path: pluginPath)
            // A request larger than the host reads of a frame is refused before it is sent.
            let relay = HostServicesTable.HTTPService.relayed(limit: limits.outputBytes) { frame in
                inbox.hostCall(frame, sender: sender) { exitFatally(sender, .protocolViolation, $0) }
            }
            instance = try image.makeInstance(config: config, log: { level, message in
                sender.send(.log, status: level, Array(message.utf8))
            }, httpService: relay)
        } catch {
            fatal(sender, error.code == .createFailed ? .createFailed : .loadFailed, error.description)
        }

        // Whatever create started is gone before the first call.
        _ = wh_sandbox_reap_all()
        let info = instance.image.description
        var startup = layers
        startup.mark("loaded")
        let ready: JSON = [
            "protocol": .integer(WorkerWire.version), "pid": .integer(getpid()),
            "actor": .string(info.name), "version": .string(info.version), "layers": layers.json,
            "startup": startup.marksJSON,
        ]
        sender.send(.ready, ready.bytes)

        while true {
            let frame: WireInbox.Frame?
            do { frame = try inbox.receive() } catch {
                fatal(sender, .protocolViolation, error.description)
            }
            guard let frame else { exit(0) }  // the host closed: retire
            guard frame.header.kind == .invoke else {
                fatal(sender, .protocolViolation, "expected invoke, got \(frame.header.kind)")
            }
            let input = frame.payload
            // After each call, nothing the actor started survives: the worker is the child
            // subreaper of its PID namespace, so this kills and reaps every other process of its tree.
            do {
                // The host checks the output's JSON: it cannot trust this process to have.
                let output = try instance.invoke(input, checkingOutput: false)
                _ = wh_sandbox_reap_all()
                if UInt64(output.count) > limits.outputBytes {
                    sender.send(.result, status: WorkerWire.statusOutputTooLarge,
                                Array("output of \(output.count) bytes exceeds the limit of \(limits.outputBytes)".utf8))
                } else {
                    sender.send(.result, status: WH_OK, output)
                }
            } catch {
                _ = wh_sandbox_reap_all()
                let status = error.status == .invalidOutput ? WorkerWire.statusInvalidOutput : error.status.code
                sender.send(.result, status: status, Array(error.message.utf8))
            }
        }
    }

    private func fatal(_ sender: Sender, _ reason: WorkerWire.FatalReason, _ message: String) -> Never {
        exitFatally(sender, reason, message)
    }
}

private func exitFatally(_ sender: Sender, _ reason: WorkerWire.FatalReason, _ message: String) -> Never {
    sender.send(.fatal, status: reason.rawValue, Array(message.utf8))
    exit(1)
}

/// The frames from the host. The main loop reads invokes between calls; during a call, the
/// actor's thread that asks for an HTTP request reads the host's answer itself (the host
/// sends nothing else while a call is in progress), one request at a time.
final class Inbox: Sendable {
    private let socket: Int32
    private let frames: Mutex<WireInbox>
    private let calls = Mutex(())

    init(socket: Int32, limit: UInt64) {
        self.socket = socket
        frames = Mutex(WireInbox(limit: limit))
    }

    func receive() throws(WorkerWire.WireError) -> WireInbox.Frame? {
        try frames.withLock { inbox throws(WorkerWire.WireError) in try inbox.receive(blockingFrom: socket) }
    }

    /// Sends a request frame to the host and waits for its answer; `violation` ends the worker.
    func hostCall(_ request: [UInt8], sender: Sender, violation: (String) -> Never) -> HostHTTPWire.ResponseFrame {
        calls.withLock { _ in
            sender.send(.httpRequest, request)
            do throws(WorkerWire.WireError) {
                guard let frame = try receive() else { exit(0) }  // the host is gone
                guard frame.header.kind == .httpResponse else { violation("expected httpResponse, got \(frame.header.kind)") }
                return try HostHTTPWire.ResponseFrame(frame.payload)
            } catch { violation(error.description) }
        }
    }
}

/// Serialises frames: an actor may log from its own threads while a result is sent.
final class Sender: Sendable {
    private let socket: Int32
    private let lock = Mutex(())

    init(socket: Int32) { self.socket = socket }

    func send(_ kind: WorkerWire.Kind, status: Int32 = 0, _ payload: [UInt8]) {
        let delivered = lock.withLock { _ in WorkerWire.send(kind, status: status, payload, to: socket) }
        if !delivered { exit(0) }  // the host is gone
    }
}
