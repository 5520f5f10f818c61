import CWavehostShims
import Dispatch
import Synchronization
import WavehostJSON
import WavehostSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Reads a plugin's descriptor in a sandboxed `wavehost-worker describe`, so the plugin's
/// code (its constructors first of all) never runs in the host: the worker loads the
/// cached copy, prints the descriptor as JSON and exits. A worker that hangs past the
/// deadline is killed, one that crashes is reported with its signal; either way the
/// plugin is refused with that reason and the host carries on.
///
/// Descriptions are kept by SHA-256 for the life of the process (a description depends
/// only on the bytes), so hot reload and repeated scans start one worker per version.
public struct DescriptorWorker: Sendable {
    /// The worker executable, its limits and scratch folders (the same as the actor pools').
    public var configuration: WorkerPool.Configuration
    /// How long the worker may take to load the plugin and answer.
    public var timeout: Duration

    public init(configuration: WorkerPool.Configuration = .init(), timeout: Duration = .seconds(5)) {
        var configuration = configuration
        configuration.limits.network = false  // reading a descriptor needs no network
        self.configuration = configuration
        self.timeout = timeout
    }

    /// What a worker said about one version: its description, or the refusal it reported
    /// (code and message; the path is the caller's).
    private enum Answer: Sendable {
        case described(ActorDescription)
        case refused(PluginError.Code, String)
    }

    private static let answers = Mutex<[String: Answer]>([:])
    private static let started = Atomic(0)

    /// Workers started to read descriptors in this process so far (each version pays once).
    public static var workersStarted: Int { started.load(ordering: .relaxed) }

    /// The description of the cached copy at `cachedPath`, which holds the bytes of
    /// `sha256` (the caller has just verified it); errors name `path`.
    public func describe(_ cachedPath: String, sha256: String, path: String) throws(PluginError) -> ActorDescription {
        let answer: Answer
        if let known = Self.answers.withLock({ $0[sha256] }) {
            answer = known
        } else {
            answer = try ask(cachedPath, path: path)
            Self.answers.withLock { $0[sha256] = answer }
        }
        switch answer {
        case .described(let description): return description
        case .refused(let code, let message): throw PluginError(code, path: path, message)
        }
    }

    /// Forgets what was learnt about `sha256` (for tests and benchmarks).
    public static func forget(_ sha256: String) {
        _ = answers.withLock { $0.removeValue(forKey: sha256) }
    }

    /// Runs one worker. A refusal the worker reported is an answer (kept); a hang, a
    /// crash or garbage is thrown (not kept: the next look tries again).
    private func ask(_ cachedPath: String, path: String) throws(PluginError) -> Answer {
        // The same identity and layers as an actor's pool: an unprivileged uid as root, and
        // Landlock reads of the plugin's own file.
        let uid = WorkerIdentity.allocate(in: configuration.uidRange)
        let scratch: String, loadable: String
        do {
            loadable = try WorkerIdentity.readablePath(cachedPath, forOtherUser: uid)
            scratch = try configuration.makeScratchFolder(for: "describe", owner: uid)
        } catch {
            throw PluginError(.loadFailed, path: path, "cannot start a worker to read the descriptor: \(error.message)")
        }
        defer { removeScratchFolder(scratch) }
        var output: [Int32] = [0, 0], errors: [Int32] = [0, 0]
        guard wh_pipe_cloexec(&output) == 0 else { throw startFailure(path, "cannot create a pipe") }
        guard wh_pipe_cloexec(&errors) == 0 else {
            close(output[0]); close(output[1])
            throw startFailure(path, "cannot create a pipe")
        }
        let nothing = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let childOut = highDescriptor(output[1]), childErr = highDescriptor(errors[1])
        let limits = configuration.workerLimits(reading: loadable, uid: uid)
        let arguments = ["describe", "--plugin", loadable, "--scratch", scratch] + limits.arguments
        let spawned = WorkerZygote.start(configuration.workerPath, arguments, descriptors: [(nothing, 0), (childOut, 1), (childErr, 2)],
                            environment: WorkerEnvironment.build(scratch: scratch, granted: []))
        close(childOut); close(childErr); close(nothing)
        let pid: pid_t
        switch spawned {
        case .success(let child):
            pid = child
            Self.started.add(1, ordering: .relaxed)
        case .failure(let error):
            close(output[0]); close(errors[0])
            throw startFailure(path, error.description)
        }
        defer { close(output[0]); close(errors[0]) }
        setNonBlocking(output[0])
        setNonBlocking(errors[0])

        let started = monotonicNanoseconds()
        let deadline = started + timeout.nanoseconds
        let limit = 16 << 20
        var answer: [UInt8] = []
        var stderrTail = OutputTail()
        var outputOpen = true, errorsOpen = true
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while outputOpen || errorsOpen {
            let now = monotonicNanoseconds()
            guard now < deadline else {
                terminate(pid, grace: 0)
                throw PluginError(.loadFailed, path: path, "reading its descriptor in a worker timed out after "
                    + "\((now - started) / 1_000_000) ms and the worker was killed: the library's code does not return "
                    + "when it is loaded (a constructor that never ends?)\(stderrTail.text.map { "; stderr: \($0)" } ?? "")")
            }
            var fds = [pollfd(fd: outputOpen ? output[0] : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errorsOpen ? errors[0] : -1, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, pollTimeout(until: deadline))
            if ready < 0 && errno != EINTR { break }
            if fds[0].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
                if count > 0 {
                    answer.append(contentsOf: chunk[..<count])
                    if answer.count > limit {
                        terminate(pid, grace: 0)
                        throw PluginError(.loadFailed, path: path, "the worker reading its descriptor wrote more than \(limit) bytes")
                    }
                    // The answer is one line: once it is whole, the worker's exit (its PID and
                    // network namespaces torn down, a millisecond or more) is not waited for.
                    if answer.last == UInt8(ascii: "\n"), let reply = Self.reply(answer) {
                        DispatchQueue.global(qos: .utility).async { _ = reap(pid) }
                        return try Self.decode(reply, path: path)
                    }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    outputOpen = false
                }
            }
            if fds[1].revents != 0 && !stderrTail.drain(errors[0]) { errorsOpen = false }
        }
        let status = reap(pid)
        let stderr = stderrTail.text.map { "; stderr: \($0)" } ?? ""
        guard let reply = Self.reply(answer) else {
            let how = wh_wait_signal(status) != 0 || wh_wait_exit_code(status) != 0 ? describeExit(status) : "answered no descriptor"
            throw PluginError(.loadFailed, path: path, "the worker reading its descriptor ended while loading the library "
                + "(\(how)): its code crashed or exited when loaded\(stderr)")
        }
        return try Self.decode(reply, path: path)
    }

    /// The worker's answer, when `bytes` hold one JSON object.
    private static func reply(_ bytes: [UInt8]) -> JSON? {
        // nil: the caller reports that the worker's answer was not one, with its bytes.
        guard let reply = try? JSON.parse(bytes), reply.objectValue != nil else { return nil }
        return reply
    }

    /// The descriptor or the refusal the worker reports (thrown when it is neither).
    private static func decode(_ reply: JSON, path: String) throws(PluginError) -> Answer {
        if let refusal = reply["error"] {
            let message = refusal["message"]?.stringValue ?? "no message"
            let code = refusal["code"]?.stringValue.flatMap(PluginError.Code.init(named:)) ?? .loadFailed
            return .refused(code, message)
        }
        guard let descriptor = reply["descriptor"] else {
            throw PluginError(.loadFailed, path: path, "the worker reading its descriptor answered neither a descriptor nor an error")
        }
        do { return .described(try ActorDescription(json: descriptor)) } catch {
            throw PluginError(.malformedDescriptor, path: path, "the descriptor read in a worker is not valid: \(error)")
        }
    }

    private func startFailure(_ path: String, _ reason: String) -> PluginError {
        PluginError(.loadFailed, path: path, "cannot start a worker to read the descriptor (\(configuration.workerPath)): \(reason)")
    }
}
