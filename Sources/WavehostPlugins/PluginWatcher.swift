import Dispatch
import Foundation
import Logging
import Synchronization
import WavehostHash
import WavehostSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Notices plugin files (`.so`) and scripts added to, replaced in or removed from some
/// folders (not their subfolders) and reports each change with the SHA-256 of the content.
///
/// **Writers**: write the new version under a temporary name in the same folder (a hidden
/// name, or one ending in `.tmp`, `.part`, `.swp` or `~`, which are ignored), then `rename`
/// it over the plugin's name. A rename is atomic, so the watcher only ever sees a complete
/// file. A file written in place is hashed when its writer closes it (inotify), or once
/// its size and modification time stop changing (polling): write it in one open–close,
/// and with polling never pause longer than the polling interval.
///
/// Changes are reported one at a time, in order, on the watcher's own thread. A change
/// whose content hashes the same as the last one reported for its path (a `touch`, an
/// identical copy) is not reported. The callback should not capture the watcher strongly.
public final class PluginWatcher: Sendable {
    public struct Change: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable { case added, changed, removed }
        public let kind: Kind
        public let path: String
        /// The content's SHA-256 (64 hex digits); nil for `removed`.
        public let sha256: String?

        public init(kind: Kind, path: String, sha256: String?) {
            self.kind = kind
            self.path = path
            self.sha256 = sha256
        }

        public var description: String { "\(kind) \(path)" + (sha256.map { " \($0.prefix(12))…" } ?? "") }
    }

    public enum Mode: Sendable, Equatable, CustomStringConvertible {
        /// Kernel notifications (inotify): a change is seen as it happens.
        case inotify
        /// A look at every folder each `interval`; a file is reported once two consecutive
        /// looks agree on its size and modification time.
        case polling(interval: Duration)

        public var description: String {
            switch self {
            case .inotify: "inotify"
            case .polling(let interval): "polling (every \(interval))"
            }
        }
    }

    /// Plugins and the scripts `ScriptActor` knows how to run.
    public static let defaultExtensions = Set(["so"]).union(ScriptActor.interpretersByExtension.keys)
    /// The polling interval used when inotify is unavailable.
    public static let fallbackInterval = Duration.milliseconds(500)

    public let folders: [String]
    /// The mode in use: the one asked for, or polling when inotify could not be set up.
    public let mode: Mode
    /// Why inotify was asked for but polling is used, e.g. the watch limit was reached.
    public let fallbackReason: String?
    private let extensions: Set<String>
    private let onChange: @Sendable (Change) -> Void
    private let descriptor: Int32
    private let watches: [Int32: String]
    private let control = Control()
    private static let logger = Logger(label: "wavehost.watcher")

    /// Sets up the watches; nothing is reported before `start`. A folder that does not
    /// exist (yet) makes the watcher poll, which notices it once it appears.
    public init(folders: [String], mode: Mode = .inotify, extensions: Set<String> = PluginWatcher.defaultExtensions,
                onChange: @escaping @Sendable (Change) -> Void)
    {
        var unique: [String] = []
        for folder in folders.map({ $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 })
        where !unique.contains(folder) { unique.append(folder) }
        self.folders = unique
        self.extensions = extensions
        self.onChange = onChange
        guard mode == .inotify else {
            (self.mode, fallbackReason, descriptor, watches) = (mode, nil, -1, [:])
            return
        }
        let (descriptor, watches, failure) = Self.setUpInotify(unique)
        (self.descriptor, self.watches, fallbackReason) = (descriptor, watches, failure)
        self.mode = failure == nil ? .inotify : .polling(interval: Self.fallbackInterval)
        if let failure { Self.logger.warning("plugin watcher polls every \(Self.fallbackInterval): \(failure)") }
    }

    deinit { stop() }

    /// Looks at the files already present, then starts the watcher's thread. With
    /// `reportExisting`, those files are reported as `added` first (once they are seen not
    /// to change); without, they are only hashed, so a later edit is `changed`. Any change
    /// made after `start` returns is reported. A watcher starts once; later calls do nothing.
    public func start(reportExisting: Bool = false) {
        guard control.phase.withLock({ phase in
            defer { if phase == .idle { phase = .running } }
            return phase == .idle
        }) else { return }
        let interval: Duration? = if case .polling(let interval) = mode { interval } else { nil }
        var loop = Loop(folders: folders, extensions: extensions, descriptor: descriptor, watches: watches,
                        interval: interval, onChange: onChange)
        // Reports nothing yet (a first look never does), so it may run on the caller's thread.
        loop.lookAtExisting(report: reportExisting)
        let control = control
        let thread = Thread { [loop] in
            var loop = loop
            loop.run(control: control)
        }
        thread.name = "wavehost-plugin-watcher"
        thread.start()
    }

    /// Stops the thread and closes the inotify descriptor; returns once the thread has
    /// ended, except when called from a callback, which returns at once (the thread ends
    /// after the callback returns).
    public func stop() {
        let previous = control.phase.withLock { phase in
            defer {
                switch phase {
                case .idle: phase = .stopped
                case .running: phase = .stopping
                case .stopping, .stopped: break
                }
            }
            return phase
        }
        switch previous {
        case .idle:
            if descriptor >= 0 { close(descriptor) }
        case .running, .stopping:
            control.stopping.store(true, ordering: .releasing)
            guard pthread_equal(control.thread.load(ordering: .acquiring), pthread_self()) == 0 else { return }
            // Each waiter passes the thread's single signal on to the next.
            control.finished.wait()
            control.finished.signal()
        case .stopped:
            break
        }
    }

    /// Whether a file of this name is watched: not hidden, not a temporary name, and
    /// with one of `extensions`.
    public static func isWatched(_ name: String, extensions: Set<String> = defaultExtensions) -> Bool {
        guard !name.hasPrefix("."), ![ "~", ".tmp", ".part", ".swp"].contains(where: name.hasSuffix),
              let dot = name.lastIndex(of: ".") else { return false }
        return extensions.contains(String(name[name.index(after: dot)...]))
    }

    private static func setUpInotify(_ folders: [String]) -> (Int32, [Int32: String], String?) {
        let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { return (-1, [:], "inotify_init1: \(String(cString: strerror(errno)))") }
        // IN_MODIFY is left out on purpose: a file being written is not ready to hash.
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR)
        var watches: [Int32: String] = [:]
        for folder in folders {
            let watch = inotify_add_watch(descriptor, folder, mask)
            guard watch >= 0 else {
                let reason = "cannot watch \(folder): \(String(cString: strerror(errno)))"
                close(descriptor)
                return (-1, [:], reason)
            }
            watches[watch] = folder
        }
        return (descriptor, watches, nil)
    }

    private final class Control: Sendable {
        enum Phase { case idle, running, stopping, stopped }
        let phase = Mutex(Phase.idle)
        let stopping = Atomic(false)
        let thread = Atomic<pthread_t>(0)
        let finished = DispatchSemaphore(value: 0)
    }

    /// The watcher thread's state and work; owned by that thread alone.
    private struct Loop: Sendable {
        let folders: [String]
        let extensions: Set<String>
        let descriptor: Int32
        let watches: [Int32: String]
        /// nil with inotify.
        let interval: Duration?
        let onChange: @Sendable (Change) -> Void
        var tracker = Tracker()
        var lastLook = ContinuousClock.now
        /// With inotify, how long a file found by a scan must stay unchanged to be hashed.
        let settleInterval = Duration.milliseconds(100)

        /// Files found by a scan may be mid-write: ones to report wait until they settle.
        mutating func lookAtExisting(report: Bool) {
            guard !report else { return scan() }
            for (path, signature) in watchedFiles() {
                if let hash = ContentHash.sha256(ofFile: path) { _ = tracker.hashed(path, signature, hash) }
            }
        }

        mutating func run(control: Control) {
            control.thread.store(pthread_self(), ordering: .releasing)
            defer {
                if descriptor >= 0 { close(descriptor) }
                control.finished.signal()
            }
            let clock = ContinuousClock()
            while !control.stopping.load(ordering: .acquiring) {
                if let interval {
                    // Sleep in short slices so stop() is prompt.
                    let deadline = lastLook.advanced(by: interval)
                    while !control.stopping.load(ordering: .acquiring) && clock.now < deadline {
                        usleep(UInt32(min(clock.now.duration(to: deadline), .milliseconds(50)) / .microseconds(1)))
                    }
                    scan()
                } else {
                    var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    if poll(&poller, 1, 50) > 0 { readEvents() }
                    if !tracker.pending.isEmpty && lastLook.duration(to: clock.now) >= settleInterval {
                        lookAgainAtPending()
                    }
                }
            }
        }

        private func isWatched(_ name: String) -> Bool { PluginWatcher.isWatched(name, extensions: extensions) }

        private func watchedFiles() -> [(path: String, signature: Signature)] {
            folders.flatMap { folder in
                // A folder that cannot be listed (removed, unmounted) watches as empty: its files
                // count as removed, and the versions loaded from them keep serving.
                ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted().filter(isWatched)
                    .compactMap { name in Signature(folder + "/" + name).map { (folder + "/" + name, $0) } }
            }
        }

        /// A polling round, or with inotify a fresh look after lost events.
        private mutating func scan() {
            lastLook = .now
            let files = watchedFiles()
            for (path, signature) in files where tracker.looked(at: path, signature) { hashAndReport(path) }
            for path in tracker.known.subtracting(files.map(\.path)).sorted() { vanished(path) }
        }

        private mutating func lookAgainAtPending() {
            lastLook = .now
            for path in tracker.pending.keys.sorted() {
                guard let signature = Signature(path) else { vanished(path); continue }
                if tracker.looked(at: path, signature) { hashAndReport(path) }
            }
        }

        private mutating func hashAndReport(_ path: String) {
            // The signature is taken first: if the file changes while hashed, the next look hashes it again.
            guard let signature = Signature(path), let hash = ContentHash.sha256(ofFile: path) else {
                tracker.forget(path)
                return
            }
            if let change = tracker.hashed(path, signature, hash) { onChange(change) }
        }

        private mutating func vanished(_ path: String) {
            if let change = tracker.vanished(path) { onChange(change) }
        }

        private mutating func readEvents() {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                let count = read(descriptor, buffer.baseAddress, buffer.count)
                guard count > 0 else { return }  // EAGAIN: drained
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let watch = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let start = offset + MemoryLayout<inotify_event>.size
                    let name = String(validating: buffer[start ..< start + length].prefix { $0 != 0 }, as: UTF8.self)
                    offset = start + length
                    handle(watch: watch, mask: mask, name: name)
                }
            }
        }

        private mutating func handle(watch: Int32, mask: UInt32, name: String?) {
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { return scan() }  // events were lost
            guard let folder = watches[watch], let name, isWatched(name) else { return }
            let path = folder + "/" + name
            if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                hashAndReport(path)  // closed by its writer, or renamed in: complete
            } else if mask & UInt32(IN_MOVED_FROM | IN_DELETE) != 0 {
                vanished(path)
            } else if mask & UInt32(IN_CREATE) != 0 {
                // A new link to existing content is complete; a new file is not until closed.
                var info = stat()
                if lstat(path, &info) == 0 && ((info.st_mode & S_IFMT) == S_IFLNK || info.st_nlink > 1) { hashAndReport(path) }
            }
        }
    }
}

extension PluginWatcher {
    /// A regular file's size, modification time and inode: when unchanged, so is the file.
    struct Signature: Equatable, Sendable {
        let size: Int
        let seconds: Int
        let nanoseconds: Int
        let inode: UInt

        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            (size, seconds, nanoseconds, inode) = (Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec, UInt(info.st_ino))
        }
    }

    /// What the watcher knows of each path, and the rules for what to report. No I/O.
    struct Tracker {
        /// The last content reported (or found at start) per path.
        private(set) var hashes: [String: String] = [:]
        /// The signature each of those hashes was taken at.
        private var hashedAt: [String: Signature] = [:]
        /// Files seen once with a new signature, waiting for a second look that agrees.
        private(set) var pending: [String: Signature] = [:]

        var known: Set<String> { Set(hashes.keys).union(pending.keys) }

        /// Whether a file seen with `signature` should be hashed now: it differs from what was
        /// hashed and the previous look saw the same signature.
        mutating func looked(at path: String, _ signature: Signature) -> Bool {
            if hashedAt[path] == signature {
                pending[path] = nil
                return false
            }
            defer { pending[path] = pending[path] == signature ? nil : signature }
            return pending[path] == signature
        }

        /// Records a file's content; returns the change to report, if the content is new.
        mutating func hashed(_ path: String, _ signature: Signature, _ hash: String) -> PluginWatcher.Change? {
            pending[path] = nil
            hashedAt[path] = signature
            let previous = hashes.updateValue(hash, forKey: path)
            guard previous != hash else { return nil }
            return PluginWatcher.Change(kind: previous == nil ? .added : .changed, path: path, sha256: hash)
        }

        mutating func forget(_ path: String) {
            pending[path] = nil
        }

        /// The file is gone; a removal is reported only for a file that was known.
        mutating func vanished(_ path: String) -> PluginWatcher.Change? {
            pending[path] = nil
            hashedAt[path] = nil
            return hashes.removeValue(forKey: path).map { _ in PluginWatcher.Change(kind: .removed, path: path, sha256: nil) }
        }
    }
}
