import ActorRuntime
import Foundation
import WavehostJSON

/// One HTTP request the host made for an actor: what an audit needs, no header values
/// (they may hold secrets) and no bodies (their SHA-256 only).
public struct HostCallRecord: Sendable, Equatable {
    public var method: String
    public var host: String
    public var path: String
    /// The HTTP status; 0 when no server answered or the host refused the request.
    public var status: Int
    public var bytesOut: Int
    public var bytesIn: Int
    public var durationMicroseconds: Int64
    public var requestSHA256: String
    public var responseSHA256: String?
    /// Why there is no response (refused by the grant, timed out…).
    public var error: String?

    /// The event payload.
    public var json: JSON {
        ["method": .string(method), "host": .string(host), "path": .string(path), "status": .integer(status),
         "bytes_out": .integer(bytesOut), "bytes_in": .integer(bytesIn), "duration_us": .integer(durationMicroseconds),
         "request_sha256": .string(requestSHA256), "response_sha256": responseSHA256.map { .string($0) } ?? .null,
         "error": error.map { .string($0) } ?? .null]
    }

    /// As an event of interaction `id`.
    public func event(interaction id: Int64) -> EventRecord {
        EventRecord(kind: "host_http_call", cause: error ?? "\(method) \(host)\(path) answered \(status)", interactionID: id,
                    payload: json.text)
    }
}

/// Collects the host calls made on this thread while `collecting` runs: the engine wraps
/// each actor call in it, and the host's HTTP service records into it (a sandboxed call's
/// requests are served on the calling thread; an in-process actor's on its own thread).
public enum HostCallLog {
    private final class Box { var records: [HostCallRecord] = [] }
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    public static func collecting<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (T, [HostCallRecord]) {
        let box = Box()
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(box).toOpaque())
        defer { pthread_setspecific(key, previous) }
        let result = try body()
        withExtendedLifetime(box) {}
        return (result, box.records)
    }

    private static let deadlineKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with `deadline` (monotonic nanoseconds) as this thread's: an in-process
    /// actor's requests end before it.
    static func bounded<T, E: Error>(by deadline: UInt64, _ body: () throws(E) -> T) throws(E) -> T {
        let previous = pthread_getspecific(deadlineKey)
        pthread_setspecific(deadlineKey, UnsafeRawPointer(bitPattern: UInt(deadline)))
        defer { pthread_setspecific(deadlineKey, previous) }
        return try body()
    }

    static var deadline: UInt64? { pthread_getspecific(deadlineKey).map { UInt64(UInt(bitPattern: $0)) } }

    /// Adds `record` to the innermost collection running on this thread (none: dropped).
    static func record(_ record: HostCallRecord) {
        guard let raw = pthread_getspecific(key) else { return }
        Unmanaged<Box>.fromOpaque(raw).takeUnretainedValue().records.append(record)
    }
}
