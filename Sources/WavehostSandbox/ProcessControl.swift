import ActorABI
import CWavehostShims

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds. Inlinable: every deadline of every call reads it.
@inlinable
package func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Milliseconds left until `deadline`, for poll(2): at least 0.
package func pollTimeout(until deadline: UInt64) -> Int32 {
    let now = monotonicNanoseconds()
    guard deadline > now else { return 0 }
    return Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
}

/// Sleeps `nanoseconds`, or less so as to wake by `deadline` (monotonic nanoseconds).
package func nap(atMost nanoseconds: UInt64, before deadline: UInt64) {
    let now = monotonicNanoseconds()
    guard deadline > now else { return }
    usleep(useconds_t(min(nanoseconds, deadline - now) / 1000))
}

/// The environment a worker gets: never the host's (its database URL, its tokens), only
/// an allowlist: a system PATH, the locale and time zone, HOME and TMPDIR in scratch, and
/// the variables a variant names in its `environment:` grant (taken from the host's).
public enum WorkerEnvironment {
    public static let systemPath = "/usr/local/bin:/usr/bin:/bin"
    /// Passed through from the host when set.
    public static let passedThrough = ["LANG", "LC_ALL", "LC_CTYPE", "TZ"]

    package static func build(scratch: String, granted: [String]) -> [String: String] {
        var variables: [String: String] = ["PATH": systemPath, "HOME": scratch, "TMPDIR": scratch,
                                           // A crash is the actor's: skip the Swift backtracer's ~17 ms and its noise.
                                           "SWIFT_BACKTRACE": "enable=no"]
        for name in passedThrough + granted {
            if let value = getenv(name) { variables[name] = String(cString: value) }
        }
        return variables
    }
}

/// Spawns `executable` with posix_spawn (never fork: the host is multithreaded), in a new
/// session (so it has no controlling terminal and its own process group), with stdin
/// from /dev/null unless `descriptors` maps 0, and exactly `environment` — nothing of the
/// host's. `descriptors` maps parent descriptors onto the child's (e.g. a socket onto 3);
/// every other descriptor of the host is close-on-exec, and the worker closes any other
/// it finds before it does anything else.
package func spawn(_ executable: String, _ arguments: [String], descriptors: [(parent: Int32, child: Int32)],
           environment: [String: String]) -> Result<pid_t, SpawnError>
{
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if !descriptors.contains(where: { $0.child == 0 }) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    if !descriptors.contains(where: { $0.child == 1 }) {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    for (parent, child) in descriptors { posix_spawn_file_actions_adddup2(&actions, parent, child) }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGXFSZ] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | wh_spawn_setsid_flag())

    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else { return .failure(SpawnError(executable: executable, errno: result)) }
    return .success(pid)
}

package struct SpawnError: Error, CustomStringConvertible {
    package let executable: String
    package let errno: Int32
    package var description: String { "cannot start \(executable): \(String(cString: strerror(errno)))" }
}

/// Moves a descriptor to 10 or above (close-on-exec), so mapping it onto a low child
/// descriptor with dup2 never meets itself (dup2(3, 3) would keep close-on-exec).
package func highDescriptor(_ fd: Int32) -> Int32 {
    let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
    close(fd)
    return moved
}

/// Ends a process: SIGTERM, a short grace, then SIGKILL; always reaps it.
/// Returns its wait status.
@discardableResult
package func terminate(_ pid: pid_t, grace: UInt64 = 20_000_000) -> Int32 {
    var status: Int32 = 0
    if waitpid(pid, &status, WNOHANG) == pid { return status }
    kill(pid, SIGTERM)
    let giveUp = monotonicNanoseconds() + grace
    while monotonicNanoseconds() < giveUp {
        if waitpid(pid, &status, WNOHANG) == pid { return status }
        usleep(500)
    }
    kill(pid, SIGKILL)
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}

/// Reaps a process that is exiting on its own (its socket or pipe closed), waiting at
/// most `patience` before killing it, so a worker that closed fd 3 and hangs cannot block.
package func reap(_ pid: pid_t, patience: UInt64 = 200_000_000) -> Int32 {
    var status: Int32 = 0
    let giveUp = monotonicNanoseconds() + patience
    while monotonicNanoseconds() < giveUp {
        if waitpid(pid, &status, WNOHANG) == pid { return status }
        usleep(200)
    }
    return terminate(pid, grace: 0)
}

/// Whether `pid` ends within `patience`, left unreaped (WNOWAIT) for ``reap(_:patience:)``
/// to collect: a zombie's pid cannot be reused, so killing it later is still safe.
func hasExited(_ pid: pid_t, within patience: UInt64) -> Bool {
    let giveUp = monotonicNanoseconds() + patience
    while true {
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == pid { return true }
        if monotonicNanoseconds() >= giveUp { return false }
        usleep(1000)
    }
}

/// "killed by signal 11 (Segmentation fault)" or "exited with status 3".
package func describeExit(_ status: Int32) -> String {
    let signal = wh_wait_signal(status)
    if signal != 0 {
        let name = strsignal(signal).map { String(cString: $0) } ?? "unknown"
        return "killed by signal \(signal) (\(name))"
    }
    return "exited with status \(wh_wait_exit_code(status))"
}

/// Keeps the last bytes a child wrote to stderr, for error reports.
package struct OutputTail {
    package private(set) var bytes: [UInt8] = []
    package let capacity: Int

    package init(capacity: Int = 4096) { self.capacity = capacity }

    /// Reads what is available on non-blocking `fd` (at most 64 KiB, so a child that
    /// writes without pause cannot hold the caller here); false once it reached end of file.
    package mutating func drain(_ fd: Int32) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[..<count])
                if bytes.count > capacity { bytes.removeFirst(bytes.count - capacity) }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            return count != 0
        }
        return true
    }

    /// The captured text, trimmed, or nil when there is none.
    package var text: String? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        return text.isEmpty ? nil : text
    }
}

extension String {
    package var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}

package func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
}
