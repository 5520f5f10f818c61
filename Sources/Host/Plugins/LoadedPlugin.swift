import ActorABI
import Logging

/// One actor version, loaded and checked: a plugin file's image, known by its SHA-256.
public final class LoadedPlugin: Sendable {
    public let image: PluginImage
    public let sha256: String

    init(image: PluginImage, sha256: String) {
        self.image = image
        self.sha256 = sha256
    }

    /// The file as the user named it.
    public var path: String { image.path }
    /// The content-addressed copy that was actually loaded.
    public var cachedPath: String { image.loadedPath }
    public var description: ActorDescription { image.description }
    public var name: String { image.name }

    /// Creates an instance with `config` (JSON text; `{}` when empty); its log messages
    /// go to `logger` with the actor's name as metadata.
    public func makeInstance(config: [UInt8] = Array("{}".utf8),
                             logger: Logger = Logger(label: "wavehost.actor")) throws(PluginError) -> ActorInstance
    {
        var actorLogger = logger
        actorLogger[metadataKey: "actor"] = .string(name)
        return try image.makeInstance(config: config) { [actorLogger] level, message in
            actorLogger.log(level: Logger.Level(abiLevel: level), "\(message)")
        }
    }
}

extension Logger.Level {
    init(abiLevel level: wh_log_level) {
        self = switch level {
        case WH_LOG_TRACE: .trace
        case WH_LOG_DEBUG: .debug
        case WH_LOG_INFO: .info
        case WH_LOG_WARN: .warning
        default: .error
        }
    }
}
