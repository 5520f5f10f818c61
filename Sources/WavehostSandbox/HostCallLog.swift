import ActorRuntime
import Foundation
import Synchronization
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
}

/// Collects the host calls of one interaction: the engine wraps each actor call in
/// `collecting`, and the host's HTTP service records into it. A sandboxed call's requests
/// are served on the calling thread; an in-process actor may ask from threads of its own,
/// so its call is also `attending` its service, which then finds the interaction from there.
public enum HostCallLog {
    /// One interaction's calls; appended from whichever thread the actor asked on.
    /// (`@usableFromInline`, like `key` and `current`: the two wrappers below are inlinable,
    /// because they are generic and wrap every call the engine makes from another module.)
    @usableFromInline
    final class Collection: Sendable {
        let run: NetworkGrant.Run
        @usableFromInline let deadline = Atomic<UInt64>(0)
        private let records = Mutex<[HostCallRecord]>([])
        @usableFromInline init(run: NetworkGrant.Run) { self.run = run }
        func append(_ record: HostCallRecord) { records.withLock { $0.append(record) } }
        @usableFromInline var all: [HostCallRecord] { records.withLock { $0 } }
    }

    @usableFromInline
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// `run` says what kind of interaction the calls belong to (the grant's `writes_in`).
    @inlinable
    public static func collecting<T, E: Error>(for run: NetworkGrant.Run, _ body: () throws(E) -> T) throws(E) -> (T, [HostCallRecord]) {
        let collection = Collection(run: run)
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(collection).toOpaque())
        defer { pthread_setspecific(key, previous) }
        let result = try body()
        return withExtendedLifetime(collection) { (result, collection.all) }
    }

    /// This thread's interaction, when the engine is running one on it.
    @usableFromInline
    static var current: Collection? {
        pthread_getspecific(key).map { Unmanaged<Collection>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs an in-process call with `deadline` (monotonic nanoseconds) as its interaction's,
    /// registered with `service` so that requests from the actor's own threads count too.
    @inlinable
    package static func attending<T, E: Error>(_ service: HostHTTP?, deadline: UInt64, _ body: () throws(E) -> T) throws(E) -> T {
        let collection = current ?? Collection(run: .prod)
        collection.deadline.store(deadline, ordering: .relaxed)
        service?.attend(collection)
        defer { service?.leave(collection) }
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(collection).toOpaque())
        defer { pthread_setspecific(key, previous) }
        return try withExtendedLifetime(collection) { () throws(E) -> T in try body() }
    }
}
