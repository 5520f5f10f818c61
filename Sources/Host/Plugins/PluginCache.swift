#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed folder of plugin copies, `<sha256>.so`.
///
/// The host loads plugins from here, never from the user's path: `dlopen` returns the
/// image it already has for a path it has seen, and overwriting a loaded file in place
/// crashes the process that mapped it. A copy per hash avoids both.
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

    /// Copies `path` into the cache as `<sha256>.<fileExtension>` and returns its hash and
    /// the copy's path.
    /// The copy is written beside its final name and renamed into place, so a reader
    /// never sees half a file, and its name is the hash of exactly the bytes it holds.
    public func store(_ path: String, fileExtension: String = "so") throws(PluginError) -> (sha256: String, cachedPath: String) {
        try createDirectories()
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
            throw failure("cannot copy into the plugin cache \(directory)")
        }
        let cachedPath = "\(directory)/\(sha256).\(fileExtension)"
        if access(cachedPath, F_OK) == 0 { return (sha256, cachedPath) }
        fchmod(temporary, fileExtension == "so" ? 0o555 : 0o444)
        guard rename(temporaryPath, cachedPath) == 0 else { throw failure("cannot rename into \(cachedPath)") }
        keepTemporary = true
        return (sha256, cachedPath)
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
