import WavehostHash

#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed folder of plugin copies, `<sha256>.so`.
///
/// The host loads plugins from here, never from the user's path: `dlopen` returns the
/// image it already has for a path it has seen, and overwriting a loaded file in place
/// crashes the process that mapped it. A copy per hash avoids both.
///
/// The copy is what runs, so it is guarded: the folder must belong to this user and be
/// writable by no one else (nor may any folder above it be, unless sticky), and a copy is
/// hashed again right before it is loaded or handed to a worker (``verify(_:sha256:path:)``).
/// This type is the one place that decides where copies live.
public struct PluginCache: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$WAVEHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/wavehost/plugins`, else
    /// `~/.cache/wavehost/plugins`, else a folder under /tmp.
    public static var defaultDirectory: String {
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        if let explicit = env("WAVEHOST_CACHE_DIR") { return explicit }
        if let xdg = env("XDG_CACHE_HOME") { return xdg + "/wavehost/plugins" }
        if let home = env("HOME") { return home + "/.cache/wavehost/plugins" }
        return "/tmp/wavehost-\(getuid())/plugins"
    }

    /// One copy: the hash of exactly the bytes it holds, and where it is.
    public struct Entry: Sendable, Equatable {
        public let sha256: String
        public let cachedPath: String

        package init(sha256: String, cachedPath: String) {
            self.sha256 = sha256
            self.cachedPath = cachedPath
        }
    }

    /// Copies `path` into the cache as `<sha256>.<fileExtension>` and returns its hash and
    /// the copy's path.
    /// The copy is written beside its final name and renamed into place, so a reader
    /// never sees half a file, and its name is the hash of exactly the bytes it holds.
    /// A copy already there is used only if it still has that hash; otherwise it is replaced.
    public func store(_ path: String, fileExtension: String = "so") throws(PluginError) -> (sha256: String, cachedPath: String) {
        try createDirectories()
        try checkFolder()
        var template = Array("\(directory)/.incoming-XXXXXX".utf8CString)
        let temporary = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard temporary >= 0 else { throw failure("cannot create a file in the plugin cache \(directory)") }
        let temporaryPath = String(cString: template)
        var keepTemporary = false
        defer {
            close(temporary)
            if !keepTemporary { unlink(temporaryPath) }
        }
        guard let sha256 = ContentHash.sha256(ofFile: path, copyingTo: temporary) else {
            throw PluginError(.cacheFailed, path: path, "cannot copy it into the plugin cache \(directory): \(String(cString: strerror(errno)))")
        }
        let cachedPath = "\(directory)/\(sha256).\(fileExtension)"
        // A copy there that fails its check is simply replaced below by the one just written.
        if access(cachedPath, F_OK) == 0, (try? verify(cachedPath, sha256: sha256, path: path)) != nil { return (sha256, cachedPath) }
        fchmod(temporary, fileExtension == "so" ? 0o555 : 0o444)
        // Over a copy that no longer has its hash, too: rename never changes a mapped file.
        guard rename(temporaryPath, cachedPath) == 0 else { throw failure("cannot rename into \(cachedPath)") }
        keepTemporary = true
        return (sha256, cachedPath)
    }

    /// Checks, right before a copy is loaded or handed to a worker, that it is still a
    /// regular file of this user's, writable by no one else, holding the bytes of `sha256`.
    /// `path` (the user's file) names the error.
    public func verify(_ cachedPath: String, sha256: String, path: String) throws(PluginError) {
        try checkFolder()
        let descriptor = open(cachedPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            throw PluginError(.cacheFailed, path: path, "cannot open the cached copy \(cachedPath): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_mode & 0o022 == 0 else {
            throw PluginError(.cacheFailed, path: path, "the cached copy \(cachedPath) is not a regular file of this user's "
                + "that only it can write; remove it and load the plugin again")
        }
        let actual = ContentHash.sha256(ofFile: "/proc/self/fd/\(descriptor)")
        guard actual == sha256 else {
            throw PluginError(.cacheFailed, path: path, "the cached copy \(cachedPath) no longer has sha256 \(sha256) "
                + "(it has \(actual ?? "an unreadable content")): it changed after the host wrote it, so it is not loaded; "
                + "remove it and load the plugin again")
        }
    }

    /// Refuses a cache folder another user could write into (or swap out): it must be this
    /// user's and writable by no one else, and every folder above it must belong to this
    /// user or root and be writable by no one else unless sticky (as /tmp is).
    public func checkFolder() throws(PluginError) {
        var info = stat()
        guard lstat(directory, &info) == 0 else { throw failure("cannot read the plugin cache folder \(directory)") }
        let user = geteuid()
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw PluginError(.cacheFailed, path: directory, "the plugin cache \(directory) is not a folder (a symbolic link?); "
                + "fix: point --cache-dir or $WAVEHOST_CACHE_DIR at a real folder")
        }
        guard info.st_uid == user else {
            throw PluginError(.cacheFailed, path: directory, "the plugin cache folder \(directory) belongs to uid \(info.st_uid), "
                + "not to this user (uid \(user)), who could not trust its copies; fix: chown \(user) \(directory), "
                + "or choose another with --cache-dir or $WAVEHOST_CACHE_DIR")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw PluginError(.cacheFailed, path: directory, "the plugin cache folder \(directory) is writable by others "
                + "(mode \(Self.octal(info.st_mode & 0o7777))), who could replace a plugin before it is loaded; "
                + "fix: chmod go-w \(directory), or choose another with --cache-dir or $WAVEHOST_CACHE_DIR")
        }
        var parent = Self.parent(of: Self.absolute(directory))
        while let folder = parent {
            var above = stat()
            guard stat(folder, &above) == 0 else { throw failure("cannot read \(folder), above the plugin cache") }
            let sticky = above.st_mode & S_ISVTX != 0
            guard above.st_uid == user || above.st_uid == 0, above.st_mode & 0o022 == 0 || sticky else {
                throw PluginError(.cacheFailed, path: directory, "\(folder), above the plugin cache folder \(directory), "
                    + "can be written by others (mode \(Self.octal(above.st_mode & 0o7777)), uid \(above.st_uid)), who could "
                    + "swap the cache out; fix: chmod go-w \(folder), or choose a cache under a folder only you can write "
                    + "(--cache-dir or $WAVEHOST_CACHE_DIR)")
            }
            parent = Self.parent(of: folder)
        }
    }

    private static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return "/" + path }
        return String(cString: buffer) + "/" + path
    }

    private static func parent(of path: String) -> String? {
        let parts = path.split(separator: "/").filter { $0 != "." }
        guard !parts.isEmpty else { return nil }
        return "/" + parts.dropLast().joined(separator: "/")
    }

    private func createDirectories() throws(PluginError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw failure("cannot create the plugin cache folder \(prefix)")
            }
        }
    }

    private func failure(_ message: String) -> PluginError {
        PluginError(.cacheFailed, path: directory, "\(message): \(String(cString: strerror(errno)))")
    }
}
