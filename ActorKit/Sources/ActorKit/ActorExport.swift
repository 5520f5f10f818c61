import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns a ``WavehostActor`` type into the ABI's descriptor.
///
/// A plugin's only glue is its exported entry function, which hands its actor type here:
///
/// ```swift
/// @_cdecl("wavehost_actor_entry")
/// public func wavehostActorEntry(_ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?)
///     -> UnsafePointer<wh_actor_descriptor>? { ActorExport.entry(MyActor.self, abiVersion, speaks) }
///
/// // `@_cdecl` does not check the prototype; this line makes a mismatch a build error.
/// private let entryMatchesABI: wh_actor_entry_fn = wavehostActorEntry
/// ```
public enum ActorExport {
    /// The ABI versions this SDK speaks: literal, because a later header's
    /// WH_ABI_VERSION must not make this code claim a version it was not written for.
    public static let speaks = wh_abi_range(min_version: 1, max_version: 1)

    /// Answers the host's entry call for `type`: reports the versions spoken and returns
    /// the descriptor for `abiVersion`, or nil when it is not spoken.
    public static func entry(
        _ type: any WavehostActor.Type, _ abiVersion: UInt32, _ speaks: UnsafeMutablePointer<wh_abi_range>?
    ) -> UnsafePointer<wh_actor_descriptor>? {
        speaks?.pointee = Self.speaks
        guard abiVersion == 1 else { return nil }
        return exported.withLock { state in
            if let existing = state { return existing.descriptor }
            let made = Exported(type: type, descriptor: makeDescriptor(type.info))
            state = made
            return made.descriptor
        }
    }

    /// The one actor type this image exports and its descriptor, made on first entry.
    /// Both live as long as the image: the host never unloads a Swift plugin.
    ///
    /// `@unchecked Sendable` because of the descriptor's C pointer: it points at memory
    /// written once, before the pointer is stored under `exported`'s lock, and only read after.
    private struct Exported: @unchecked Sendable {
        let type: any WavehostActor.Type
        let descriptor: UnsafePointer<wh_actor_descriptor>
    }

    private static let exported = Mutex<Exported?>(nil)

    fileprivate static var exportedType: (any WavehostActor.Type)? { exported.withLock { $0?.type } }

    private static func makeDescriptor(_ info: ActorInfo) -> UnsafePointer<wh_actor_descriptor> {
        func cString(_ text: String?) -> UnsafePointer<CChar>? { text.map { UnsafePointer(strdup($0)!) } }
        let descriptor = UnsafeMutablePointer<wh_actor_descriptor>.allocate(capacity: 1)
        descriptor.initialize(to: wh_actor_descriptor(
            struct_size: UInt32(MemoryLayout<wh_actor_descriptor>.size),
            abi_version: 1,
            name: cString(info.name),
            version: cString(info.version),
            kind: info.kind.rawValue,
            reserved: 0,
            capabilities: info.capabilities.rawValue,
            create: actorCreate,
            invoke: actorInvoke,
            release: actorRelease,
            destroy: actorDestroy,
            description: cString(info.description),
            config_schema: cString(info.configSchema?.text),
            input_schema: cString(info.inputSchema?.text),
            output_schema: cString(info.outputSchema?.text),
            examples: cString(info.examples.isEmpty ? nil : JSON.array(info.examples.map(\.json)).text)
        ))
        return UnsafePointer(descriptor)
    }
}

/// Holds an instance behind the opaque pointer the host keeps.
private final class InstanceBox {
    let actor: any WavehostActor
    init(_ actor: any WavehostActor) { self.actor = actor }
}

/// Copies `bytes` into a malloc'd buffer the plugin's release frees.
private func fill(_ reply: UnsafeMutablePointer<wh_reply>?, with bytes: some Collection<UInt8>) {
    guard let reply else { return }
    let buffer = malloc(max(bytes.count, 1))!.assumingMemoryBound(to: UInt8.self)
    _ = UnsafeMutableBufferPointer(start: buffer, count: bytes.count).initialize(from: bytes)
    reply.pointee.data = UnsafePointer(buffer)
    reply.pointee.length = bytes.count
}

private func actorCreate(
    _ config: UnsafePointer<UInt8>?, _ configLength: Int, _ host: UnsafePointer<wh_host_services>?,
    _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ reply: UnsafeMutablePointer<wh_reply>?
) -> wh_status {
    guard let type = ActorExport.exportedType else {
        fill(reply, with: "ActorKit: create called before wavehost_actor_entry".utf8)
        return WH_ERR_INTERNAL
    }
    let configValue: JSON
    if configLength == 0 {
        configValue = [:]
    } else {
        do { configValue = try JSON.parse(UnsafeRawBufferPointer(start: config, count: configLength)) } catch {
            fill(reply, with: "config is not valid JSON: \(error)".utf8)
            return WH_ERR_INVALID_CONFIG
        }
    }
    do {
        let actor = try type.init(config: configValue, host: HostServices(host))
        instance?.pointee = Unmanaged.passRetained(InstanceBox(actor)).toOpaque()
        return WH_OK
    } catch {
        fill(reply, with: error.message.utf8)
        return error.status
    }
}

private func actorInvoke(
    _ instance: UnsafeMutableRawPointer?, _ input: UnsafePointer<UInt8>?, _ inputLength: Int,
    _ reply: UnsafeMutablePointer<wh_reply>?
) -> wh_status {
    guard let instance else {
        fill(reply, with: "ActorKit: invoke called without an instance".utf8)
        return WH_ERR_INTERNAL
    }
    let box = Unmanaged<InstanceBox>.fromOpaque(instance).takeUnretainedValue()
    do {
        let output = try box.actor.invoke(UnsafeRawBufferPointer(start: input, count: inputLength))
        fill(reply, with: output)
        return WH_OK
    } catch {
        fill(reply, with: error.message.utf8)
        return error.status
    }
}

private func actorRelease(_ reply: UnsafeMutablePointer<wh_reply>?) {
    guard let reply, let data = reply.pointee.data else { return }
    free(UnsafeMutableRawPointer(mutating: data))
    reply.pointee.data = nil
    reply.pointee.length = 0
}

private func actorDestroy(_ instance: UnsafeMutableRawPointer?) {
    guard let instance else { return }
    Unmanaged<InstanceBox>.fromOpaque(instance).release()
}
