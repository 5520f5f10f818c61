import ActorABI
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// Loads actor plugins: copies each file into the content-addressed cache, `dlopen`s
/// the copy, negotiates the ABI version and checks the descriptor before anything else
/// of the plugin runs.
public struct PluginLoader: Sendable {
    /// The ABI versions this host speaks, newest last.
    public static let supportedABIVersions: ClosedRange<UInt32> = 1...WH_ABI_VERSION

    public let cache: PluginCache

    public init(cache: PluginCache = PluginCache(directory: PluginCache.defaultDirectory)) {
        self.cache = cache
    }

    public func load(_ path: String) throws(PluginError) -> LoadedPlugin {
        try checkIsRegularFile(path)
        let (sha256, cachedPath) = try cache.store(path)
        // RTLD_LOCAL: each plugin binds to its own copies of shared C symbols.
        // RTLD_NODELETE: a Swift image must never be unmapped (its runtime records stay).
        guard let handle = dlopen(cachedPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            if !Self.hasELFMagic(path) {
                throw PluginError(.notSharedObject, path: path, "the file is not an ELF shared object (\(reason))")
            }
            throw PluginError(.loadFailed, path: path, "dlopen failed: \(reason)")
        }
        guard let symbol = dlsym(handle, WH_ENTRY_SYMBOL) else {
            throw PluginError(.missingEntrySymbol, path: path,
                "the library does not export \(WH_ENTRY_SYMBOL); actors must export it (see docs/abi.md)")
        }
        let entry = unsafeBitCast(symbol, to: wh_actor_entry_fn.self)
        let (descriptor, abiVersion) = try negotiate(entry, path: path)
        let (description, functions) = try DescriptorReader(path: path, descriptor: descriptor, abiVersion: abiVersion).read()
        return LoadedPlugin(path: path, sha256: sha256, cachedPath: cachedPath, description: description, functions: functions)
    }

    /// Asks for each version this host speaks, newest first; the first descriptor wins.
    private func negotiate(_ entry: wh_actor_entry_fn, path: String) throws(PluginError)
        -> (UnsafePointer<wh_actor_descriptor>, UInt32)
    {
        var speaks = wh_abi_range(min_version: 0, max_version: 0)
        for version in Self.supportedABIVersions.reversed() {
            if let descriptor = entry(version, &speaks) { return (descriptor, version) }
        }
        let host = Self.describe(Self.supportedABIVersions)
        let plugin = speaks.max_version == 0
            ? "did not say which versions it speaks"
            : "speaks \(Self.describe(speaks.min_version...max(speaks.min_version, speaks.max_version)))"
        throw PluginError(.unsupportedABIVersion, path: path,
            "no common ABI version: the host speaks \(host), the plugin \(plugin)")
    }

    static func describe(_ versions: ClosedRange<UInt32>) -> String {
        versions.count == 1 ? "version \(versions.lowerBound)" : "versions \(versions.lowerBound)–\(versions.upperBound)"
    }

    private func checkIsRegularFile(_ path: String) throws(PluginError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PluginError(.notFound, path: path, String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PluginError(.notSharedObject, path: path, "not a regular file")
        }
    }

    private static func hasELFMagic(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var magic: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        guard read(descriptor, &magic, 4) == 4 else { return false }
        return magic == (0x7F, UInt8(ascii: "E"), UInt8(ascii: "L"), UInt8(ascii: "F"))
    }
}
