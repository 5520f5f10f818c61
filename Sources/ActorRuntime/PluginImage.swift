import ActorABI
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// A plugin library mapped into this process, its ABI version negotiated and its
/// descriptor checked before anything else of the plugin ran.
///
/// The image stays mapped for the life of the process: a Swift plugin cannot be safely
/// unloaded, so versions truly go away only when a worker process exits.
///
/// `@unchecked Sendable` because `functions` holds the descriptor's C pointers: copied once
/// in `init` and never written after, they point into an image that is never unmapped
/// (`RTLD_NODELETE`), and the functions they name are called only as the ABI's threading
/// rules allow (invoke serialised by `ActorInstance` unless the actor is thread-safe).
public final class PluginImage: @unchecked Sendable {
    /// The ABI versions this side speaks, newest last.
    public static let supportedABIVersions: ClosedRange<UInt32> = 1...1

    /// The file as the user named it (errors name this one).
    public let path: String
    /// The file actually mapped (a content-addressed copy, in the host).
    public let loadedPath: String
    public let description: ActorDescription
    /// Host-owned copy of the descriptor (immutable after init).
    let functions: wh_actor_descriptor

    public var name: String { description.name }

    /// Maps `loadedPath` (reporting errors against `path`) and checks it. A caller that
    /// passes `loadedPath` has already checked `path` (the loader does, before copying it).
    public init(path: String, loadedPath: String? = nil) throws(PluginError) {
        if loadedPath == nil { try Self.checkIsRegularFile(path) }
        let loadedPath = loadedPath ?? path
        // RTLD_LOCAL: each plugin binds to its own copies of shared C symbols.
        // RTLD_NODELETE: a Swift image must never be unmapped (its runtime records stay).
        guard let handle = dlopen(loadedPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            if !Self.hasELFMagic(loadedPath) {
                throw PluginError(.notSharedObject, path: path, "the file is not an ELF shared object (\(reason))")
            }
            throw PluginError(.loadFailed, path: path, "dlopen failed: \(reason)")
        }
        guard let symbol = dlsym(handle, WH_ENTRY_SYMBOL) else {
            throw PluginError(.missingEntrySymbol, path: path,
                "the library does not export \(WH_ENTRY_SYMBOL); actors must export it (see docs/abi.md)")
        }
        let entry = unsafeBitCast(symbol, to: wh_actor_entry_fn.self)
        let (descriptor, abiVersion) = try Self.negotiate(entry, path: path)
        (description, functions) = try DescriptorReader(path: path, descriptor: descriptor, abiVersion: abiVersion).read()
        self.path = path
        self.loadedPath = loadedPath
    }

    /// Creates an instance with `config` (JSON text; `{}` when empty); the plugin's log
    /// messages go to `log`. Throws ``PluginError/Code/createFailed`` with its message.
    public func makeInstance(config: [UInt8] = Array("{}".utf8),
                             log: @escaping HostServicesTable.LogSink = { _, _ in },
                             http: HostServicesTable.HTTPHandler? = nil) throws(PluginError) -> ActorInstance
    {
        try makeInstance(config: config, log: log, httpService: http.map { .direct($0) })
    }

    /// The same, with the HTTP service a worker relays to its host.
    public func makeInstance(config: [UInt8] = Array("{}".utf8),
                             log: @escaping HostServicesTable.LogSink = { _, _ in },
                             httpService: HostServicesTable.HTTPService?) throws(PluginError) -> ActorInstance
    {
        let services = HostServicesTable(abiVersion: description.abiVersion, log: log, http: httpService)
        var reply = wh_reply.empty
        var instance: UnsafeMutableRawPointer?
        let config = config.isEmpty ? Array("{}".utf8) : config
        let status = config.withUnsafeBufferPointer { bytes in
            functions.create(bytes.baseAddress, bytes.count, services.table, &instance, &reply)
        }
        let message = takeMessage(&reply)
        guard status == WH_OK else {
            throw PluginError(.createFailed, path: path,
                "actor \(name) refused to create an instance (\(ActorFailure.Status(status))): \(message ?? "no message")")
        }
        return ActorInstance(image: self, instance: instance, services: services)
    }

    /// Copies a reply's text out and gives the buffer back to the plugin.
    private func takeMessage(_ reply: inout wh_reply) -> String? {
        guard let data = reply.data else { return nil }
        let text = String(decoding: UnsafeBufferPointer(start: data, count: reply.length), as: UTF8.self)
        functions.release(&reply)
        return text
    }

    /// Asks for each version this side speaks, newest first; the first descriptor wins.
    private static func negotiate(_ entry: wh_actor_entry_fn, path: String) throws(PluginError)
        -> (UnsafePointer<wh_actor_descriptor>, UInt32)
    {
        var speaks = wh_abi_range(min_version: 0, max_version: 0)
        for version in supportedABIVersions.reversed() {
            if let descriptor = entry(version, &speaks) { return (descriptor, version) }
        }
        let plugin = speaks.max_version == 0
            ? "did not say which versions it speaks"
            : "speaks \(describe(speaks.min_version...max(speaks.min_version, speaks.max_version)))"
        throw PluginError(.unsupportedABIVersion, path: path,
            "no common ABI version: the host speaks \(describe(supportedABIVersions)), the plugin \(plugin)")
    }

    private static func describe(_ versions: ClosedRange<UInt32>) -> String {
        versions.count == 1 ? "version \(versions.lowerBound)" : "versions \(versions.lowerBound)–\(versions.upperBound)"
    }

    /// Refuses a missing path or one that is not a regular file, before copying anything.
    public static func checkIsRegularFile(_ path: String) throws(PluginError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PluginError(.notFound, path: path, String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PluginError(.notSharedObject, path: path, "not a regular file")
        }
    }

    /// Whether the file at `path` starts with the ELF magic bytes.
    public static func hasELFMagic(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var magic: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        guard read(descriptor, &magic, 4) == 4 else { return false }
        return magic == (0x7F, UInt8(ascii: "E"), UInt8(ascii: "L"), UInt8(ascii: "F"))
    }
}

extension wh_reply {
    static var empty: wh_reply {
        var reply = wh_reply()
        reply.struct_size = UInt32(MemoryLayout<wh_reply>.size)
        return reply
    }
}
