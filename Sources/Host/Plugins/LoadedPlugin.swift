import ActorABI
import Logging

/// One actor version, loaded and checked: a plugin file's image, known by its SHA-256.
///
/// The image stays mapped for the life of the process (Swift plugins cannot be safely
/// unloaded); make instances from it with ``makeInstance(config:logger:)``.
public final class LoadedPlugin: @unchecked Sendable {
    /// The file as the user named it.
    public let path: String
    public let sha256: String
    /// The content-addressed copy that was actually loaded.
    public let cachedPath: String
    public let description: ActorDescription
    /// Host-owned copy of the descriptor (immutable after init).
    let functions: wh_actor_descriptor

    init(path: String, sha256: String, cachedPath: String, description: ActorDescription, functions: wh_actor_descriptor) {
        self.path = path
        self.sha256 = sha256
        self.cachedPath = cachedPath
        self.description = description
        self.functions = functions
    }

    public var name: String { description.name }

    /// Creates an instance with `config` (JSON text; `{}` when empty).
    /// Throws ``PluginError/Code/createFailed`` with the plugin's own message.
    public func makeInstance(config: [UInt8] = Array("{}".utf8),
                             logger: Logger = Logger(label: "wavehost.actor")) throws(PluginError) -> ActorInstance
    {
        var actorLogger = logger
        actorLogger[metadataKey: "actor"] = .string(name)
        let services = HostServicesTable(logger: actorLogger, abiVersion: description.abiVersion)
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
        return ActorInstance(plugin: self, instance: instance, services: services)
    }

    /// Copies a reply's text out and gives the buffer back to the plugin.
    func takeMessage(_ reply: inout wh_reply) -> String? {
        guard let data = reply.data else { return nil }
        let text = String(decoding: UnsafeBufferPointer(start: data, count: reply.length), as: UTF8.self)
        functions.release(&reply)
        return text
    }
}

extension wh_reply {
    static var empty: wh_reply {
        var reply = wh_reply()
        reply.struct_size = UInt32(MemoryLayout<wh_reply>.size)
        return reply
    }
}
