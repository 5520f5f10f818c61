import ActorRuntime
import CWavehostShims
import Foundation
import WavehostJSON

/// An actor that is a script (Python, shell, any interpreter on PATH), run per call in
/// the sandbox: input JSON on stdin, output JSON on stdout, stderr kept for errors.
/// Its identity is the SHA-256 of the file; the copy that runs is the cached one, so an
/// edit on disk never changes a version already loaded.
public final class ScriptActor: Sendable {
    /// The file as the user named it.
    public let path: String
    public let sha256: String
    public let cachedPath: String
    /// The interpreter command, e.g. ["/usr/bin/env", "python3"].
    public let interpreter: [String]
    /// The file name without its extension.
    public let name: String
    private let configuration: WorkerPool.Configuration
    /// As root: the script's own uid (its runs are its pool).
    private let uid: UInt32?

    /// Interpreters by file extension, for scripts without a `#!` line.
    public static let interpretersByExtension = ["py": ["python3"], "sh": ["sh"], "bash": ["bash"], "js": ["node"],
                                                 "rb": ["ruby"], "pl": ["perl"]]

    /// The script at `path`, run from the copy `copy` makes of it (the plugin cache's
    /// `store(_:fileExtension:)`: the Plugins layer passes it in, see `init(path:cache:…)`),
    /// which returns the copy's SHA-256 and path.
    package init(path: String, copy: (_ path: String, _ fileExtension: String) throws(PluginError) -> (sha256: String, cachedPath: String),
                 interpreter: [String]? = nil, configuration: WorkerPool.Configuration = .init()) throws(PluginError)
    {
        try PluginImage.checkIsRegularFile(path)
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let fileExtension = URL(fileURLWithPath: path).pathExtension
        (sha256, cachedPath) = try copy(path, fileExtension.isEmpty ? "script" : fileExtension)
        guard let command = interpreter ?? Self.shebang(of: cachedPath) ?? Self.interpretersByExtension[fileExtension] else {
            throw PluginError(.noInterpreter, path: path,
                "no #! line and no known extension; name an interpreter (known: \(Self.interpretersByExtension.keys.sorted().joined(separator: ", ")))")
        }
        self.path = path
        self.interpreter = command
        self.name = fileExtension.isEmpty ? fileName : String(fileName.dropLast(fileExtension.count + 1))
        self.configuration = configuration
        uid = WorkerIdentity.allocate(in: configuration.uidRange)
    }

    /// The interpreter named by the file's `#!` line, if it has one.
    static func shebang(of path: String) -> [String]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }  // read-only: closing cannot lose anything
        let head = String(decoding: handle.readData(ofLength: 256), as: UTF8.self)
        guard head.hasPrefix("#!"), let line = head.dropFirst(2).split(separator: "\n").first else { return nil }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        return words.isEmpty ? nil : words
    }

    /// Runs the script once on `input`; its stdout must be one JSON document.
    public func invoke(_ input: [UInt8], timeout: Duration) throws(SandboxFailure) -> [UInt8] {
        let started = monotonicNanoseconds()
        let deadline = started + timeout.nanoseconds
        let loadable = try WorkerIdentity.readablePath(cachedPath, forOtherUser: uid)
        let scratch = try configuration.makeScratchFolder(for: name, owner: uid)
        var limits = configuration.workerLimits(reading: loadable, uid: uid)
        let cgroup = WorkerIdentity.cgroupsAvailable ? "s\(getpid())-\((scratch as NSString).lastPathComponent)" : nil
        limits.cgroup = cgroup
        defer {
            removeScratchFolder(scratch)
            if let cgroup { WorkerIdentity.removeCgroup(cgroup) }
        }
        var run = try ScriptRun(script: self, file: loadable, scratch: scratch, limits: limits, workerPath: configuration.workerPath)
        return try run.exchange(input, started: started, deadline: deadline)
    }
}

/// One execution of a script: three pipes, one process, one deadline.
private struct ScriptRun {
    let actor: String
    let pid: pid_t
    let limits: SandboxLimits
    var stdin: Int32, stdout: Int32, stderr: Int32
    var output: [UInt8] = []
    var errors = OutputTail()

    init(script: ScriptActor, file: String, scratch: String, limits: SandboxLimits, workerPath: String) throws(SandboxFailure) {
        actor = script.name
        self.limits = limits
        // stdin is a socket, not a pipe: a script that exits without reading its input
        // must give the host EPIPE (send with MSG_NOSIGNAL), never a SIGPIPE.
        var pipes = [[Int32]](repeating: [0, 0], count: 3)
        let created = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pipes[0]) == 0
            && wh_pipe_cloexec(&pipes[1]) == 0 && wh_pipe_cloexec(&pipes[2]) == 0
        guard created else {
            throw SandboxFailure(.startFailed, actor: actor, "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        let childIn = highDescriptor(pipes[0][0]), childOut = highDescriptor(pipes[1][1]), childErr = highDescriptor(pipes[2][1])
        let arguments = ["exec", "--scratch", scratch] + limits.arguments + ["--"] + script.interpreter + [file]
        let spawned = WorkerZygote.start(workerPath, arguments, descriptors: [(childIn, 0), (childOut, 1), (childErr, 2)],
                            environment: WorkerEnvironment.build(scratch: scratch, granted: limits.environment))
        // The child's ends must close here, or its exit would never read as end of file.
        [childIn, childOut, childErr].forEach { close($0) }
        switch spawned {
        case .success(let pid): self.pid = pid
        case .failure(let error):
            [pipes[0][1], pipes[1][0], pipes[2][0]].forEach { close($0) }  // the child's ends are closed above
            throw SandboxFailure(.startFailed, actor: actor, error.description)
        }
        (stdin, stdout, stderr) = (pipes[0][1], pipes[1][0], pipes[2][0])
        [stdin, stdout, stderr].forEach(setNonBlocking)
    }

    /// Feeds the input, collects stdout and stderr until both close, then judges the exit.
    mutating func exchange(_ input: [UInt8], started: UInt64, deadline: UInt64) throws(SandboxFailure) -> [UInt8] {
        var written = 0
        if input.isEmpty { close(stdin); stdin = -1 }
        while stdout >= 0 || stderr >= 0 {
            var fds = [pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0), pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 3, pollTimeout(until: deadline)) < 0 && errno != EINTR { break }
            if monotonicNanoseconds() >= deadline {
                end(killing: true)
                throw SandboxFailure(.timedOut, actor: actor,
                                     "timed out after \((monotonicNanoseconds() - started) / 1_000_000) ms; the script was killed",
                                     elapsedNanoseconds: monotonicNanoseconds() - started)
            }
            if stdin >= 0 && fds[0].revents != 0 {
                let count = input.withUnsafeBytes { send(stdin, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL)) }
                if count > 0 { written += count }
                if count < 0 && errno != EAGAIN && errno != EINTR || written == input.count { close(stdin); stdin = -1 }
            }
            if stdout >= 0 && fds[1].revents != 0 && !readOutput() {
                close(stdout); stdout = -1
            }
            if UInt64(output.count) > limits.outputBytes {
                end(killing: true)
                throw SandboxFailure(.outputTooLarge, actor: actor, "output exceeds the limit of \(limits.outputBytes) bytes",
                                     elapsedNanoseconds: monotonicNanoseconds() - started)
            }
            if stderr >= 0 && fds[2].revents != 0 && !errors.drain(stderr) { close(stderr); stderr = -1 }
        }
        let status = end(killing: false)
        let elapsed = monotonicNanoseconds() - started
        let stderrText = errors.text.map { ": \($0)" } ?? ""
        if wh_wait_signal(status) != 0 {
            throw SandboxFailure(.crashed, actor: actor, "script \(describeExit(status))\(stderrText)", elapsedNanoseconds: elapsed)
        }
        guard wh_wait_exit_code(status) == 0 else {
            throw SandboxFailure(.actorFailed(.failed), actor: actor, "script \(describeExit(status))\(stderrText)",
                                 elapsedNanoseconds: elapsed)
        }
        let fault = output.withUnsafeBytes { bytes -> JSONParseError? in
            do throws(JSONParseError) { try JSON.validate(bytes); return nil } catch { return error }
        }
        if let fault {
            throw SandboxFailure(.actorFailed(.invalidOutput), actor: actor, "stdout is not valid JSON: \(fault)\(stderrText)",
                                 elapsedNanoseconds: elapsed)
        }
        return output
    }

    /// Reads what stdout has; false at end of file.
    private mutating func readOutput() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(stdout, $0.baseAddress, $0.count) }
            if count > 0 { output.append(contentsOf: chunk[..<count]); if UInt64(output.count) > limits.outputBytes { return true }; continue }
            if count < 0 && errno == EINTR { continue }
            return count != 0
        }
    }

    @discardableResult
    private mutating func end(killing: Bool) -> Int32 {
        for fd in [stdin, stdout, stderr] where fd >= 0 { close(fd) }
        (stdin, stdout, stderr) = (-1, -1, -1)
        return killing ? terminate(pid) : reap(pid, patience: 2_000_000_000)
    }
}
