import Foundation
import Logging
import WavehostJSON

/// How `serve` logs: swift-log at a chosen level; on a terminal the usual human lines,
/// elsewhere (a service manager, a pipe, a file) one JSON object per line, for collectors.
public enum ServiceLogging {
    public static let levelNames = Logger.Level.allCases.map(\.rawValue)

    /// The level named `name` (trace, debug, info, notice, warning, error, critical).
    public static func level(named name: String) -> Logger.Level? { Logger.Level(rawValue: name.lowercased()) }

    /// Bootstraps swift-log for the process (once per process, as swift-log requires).
    public static func bootstrap(level: Logger.Level, json: Bool = isatty(STDERR_FILENO) == 0) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// One JSON object per log line on stderr: `time`, `level`, `label`, `message`, `metadata`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line = Self.line(time: Date(), level: event.level, label: label, message: event.message.description, metadata: merged)
        // One write per line, so lines from several threads never interleave.
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// The JSON text of one log line (without its newline).
    public static func line(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        JSON.object([
            ("time", .string(time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))),
            ("level", .string(level.rawValue)),
            ("label", .string(label)),
            ("message", .string(message)),
            ("metadata", json(metadata)),
        ]).text
    }

    private static func json(_ metadata: Logger.Metadata) -> JSON {
        .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSON {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let metadata): json(metadata)
        }
    }
}
