import Foundation
import Synchronization
import WavehostHash

/// Who a worker runs as. As root, each pool gets its own unprivileged uid and gid (the
/// same number) from a configurable range, so process limits and signals are per actor;
/// as any other user, workers keep the host's uid inside a user namespace of their own.
public enum WorkerIdentity {
    /// The default range of pool uids when the host runs as root (no /etc/passwd entry needed).
    public static let defaultRange: ClosedRange<UInt32> = 260_000...260_999

    private static let next = Mutex<UInt32>(0)

    /// The next pool uid in `range` (wrapping), or nil when the host is not root.
    package static func allocate(in range: ClosedRange<UInt32>) -> UInt32? {
        guard geteuid() == 0 else { return nil }
        return next.withLock { counter in
            defer { counter &+= 1 }
            return range.lowerBound + counter % UInt32(range.count)
        }
    }

    /// Where copies go that a pool's uid must be able to read: owned by root, 0755, writable by no one else.
    public static let sharedCopies = "/var/lib/wavehost/workers"

    /// A path to `path`'s bytes that `uid` (not its owner, not in its group) can read. Most
    /// caches live under a 0700 home: then the file is copied, once, into ``sharedCopies``
    /// under its own (content-addressed) name, and the copy is hashed before it is used.
    ///
    /// A content-addressed path (`<sha256>.<ext>`, as the plugin cache writes) is hashed
    /// before every worker start, and a copy whose bytes no longer match its name fails
    /// closed: what a worker loads is the version that was checked and approved.
    package static func readablePath(_ path: String, forOtherUser uid: UInt32?) throws(SandboxFailure) -> String {
        let actor = (path as NSString).lastPathComponent
        guard uid != nil, !othersCanRead(path) else {
            try verifyContentAddress(path, actor: actor)
            return path
        }
        do {
            try ensureRootOwnedFolder(sharedCopies)
        } catch {
            throw SandboxFailure(.startFailed, actor: actor, "cannot prepare \(sharedCopies) for the worker's copy: \(error)")
        }
        guard let wanted = ContentHash.sha256(ofFile: path) else {
            throw SandboxFailure(.startFailed, actor: actor, "cannot read \(path) to copy it for the worker")
        }
        if let named = contentAddress(of: path), named != wanted { throw changed(path, actor: actor, hash: wanted) }
        let copy = sharedCopies + "/" + wanted + "-" + actor
        if ContentHash.sha256(ofFile: copy) == wanted { return copy }
        let temporary = copy + ".tmp-\(getpid())-\(UUID().uuidString)"
        let output = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            throw SandboxFailure(.startFailed, actor: actor, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let written = ContentHash.sha256(ofFile: path, copyingTo: output)
        fchmod(output, 0o644)
        close(output)
        guard written == wanted, rename(temporary, copy) == 0 else {
            unlink(temporary)
            throw SandboxFailure(.startFailed, actor: actor, "the copy of \(path) for the worker changed while it was written")
        }
        return copy
    }

    /// The hash a content-addressed file's name states: 64 hex digits before the first dot.
    static func contentAddress(of path: String) -> String? {
        let name = (path as NSString).lastPathComponent
        let stem = name.prefix { $0 != "." }
        guard stem.count == 64, stem.allSatisfy(\.isHexDigit) else { return nil }
        return String(stem).lowercased()
    }

    private static func verifyContentAddress(_ path: String, actor: String) throws(SandboxFailure) {
        guard let named = contentAddress(of: path) else { return }
        guard let actual = ContentHash.sha256(ofFile: path) else {
            throw SandboxFailure(.startFailed, actor: actor, "cannot read \(path) to check it before the worker loads it: "
                                 + String(cString: strerror(errno)))
        }
        if actual != named { throw changed(path, actor: actor, hash: actual) }
    }

    private static func changed(_ path: String, actor: String, hash: String) -> SandboxFailure {
        SandboxFailure(.startFailed, actor: actor, "\(path) no longer holds the version its name states (its bytes hash to "
                       + "\(hash.prefix(12))): the cached copy changed after it was checked; refusing to load it")
    }

    /// Whether a user who is neither the owner nor in the group can read `path`: every
    /// folder above it searchable by others, the file readable by others.
    static func othersCanRead(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IROTH != 0 else { return false }
        var folder = (path as NSString).deletingLastPathComponent
        while !folder.isEmpty && folder != "/" {
            guard stat(folder, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return true
    }

    private static func ensureRootOwnedFolder(_ folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        var info = stat()
        guard stat(folder, &info) == 0 else { throw SandboxFailure(.startFailed, actor: folder, "cannot stat \(folder)") }
        if info.st_uid != 0 || info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            throw SandboxFailure(.startFailed, actor: folder, "\(folder) must be owned by root and writable by no one else")
        }
    }

    /// Removes a worker's cgroup (v1 memory and pids) once its processes are gone. A killed
    /// worker's namespace dies a moment after the host reaps its proxy: wait for it (≤ 1 s).
    static func removeCgroup(_ name: String) {
        for controller in ["memory", "pids"] {
            let path = "/sys/fs/cgroup/\(controller)/wavehost/\(name)"
            for _ in 0..<500 {
                if rmdir(path) == 0 || errno != EBUSY { break }
                usleep(2000)
            }
        }
    }

    /// Whether this machine offers root the cgroup v1 memory and pids controllers (and, the
    /// first time, removes the empty groups of hosts that exited without retiring their workers).
    static var cgroupsAvailable: Bool { cgroupsChecked }

    private static let cgroupsChecked: Bool = {
        let available = geteuid() == 0 && access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) == 0
            && access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0
        if available { sweepStaleCgroups() }
        return available
    }()

    /// Groups are named `<w|s|probe->HOSTPID-…`: those of a host that is gone are removed (rmdir
    /// refuses a group that still holds a process, so nothing alive is touched).
    static func sweepStaleCgroups() {
        for controller in ["memory", "pids"] {
            let root = "/sys/fs/cgroup/\(controller)/wavehost"
            // No folder: no cgroups of ours to remove.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
                let digits = name.drop { !$0.isNumber }.prefix { $0.isNumber }
                guard let host = pid_t(digits), host != getpid(), kill(host, 0) != 0, errno == ESRCH else { continue }
                rmdir(root + "/" + name)
            }
        }
    }
}
