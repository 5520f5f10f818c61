#if canImport(Glibc)
import Glibc
#endif

/// The host ↔ worker wire format, version 1 (documented in docs/sandbox.md).
///
/// Every message is a 16-byte little-endian header — magic "WH" (u16 0x4857), protocol
/// version (u8), message type (u8), status (i32), payload length (u64) — followed by the
/// payload. Both ends check magic and version on every frame, so a stray write into the
/// socket is caught as a protocol violation, never misread as an answer.
public enum WorkerWire {
    public static let version: UInt8 = 1
    public static let magic: UInt16 = 0x4857
    public static let headerSize = 16
    /// Log frames the host passes on per call; it counts and drops the rest, and says
    /// how many once, so an actor cannot flood the host's log.
    public static let logFramesPerCall = 1_000

    public enum Kind: UInt8, Sendable {
        /// host → worker, first frame: payload is the actor's config (JSON).
        case hello = 1
        /// worker → host: the instance is created; payload is JSON facts about the worker.
        case ready = 2
        /// host → worker: payload is the input; status unused.
        case invoke = 3
        /// worker → host: status is the actor's `wh_status`; payload its output or message.
        case result = 4
        /// worker → host: the worker cannot go on (status is a ``FatalReason``); payload is a message.
        case fatal = 5
        /// worker → host, any time before a result: status is a `wh_log_level`, payload the message.
        case log = 6
    }

    /// Result statuses the worker adds to the ABI's (which are all ≥ 0).
    public static let statusOutputTooLarge: Int32 = -1001
    public static let statusInvalidOutput: Int32 = -1002

    /// Why a worker gave up (the status of a `fatal` frame).
    public enum FatalReason: Int32, Sendable {
        case loadFailed = 1, createFailed, protocolViolation, outputTooLarge
    }

    public struct Header: Equatable, Sendable {
        public var kind: Kind
        public var status: Int32
        public var length: UInt64

        public init(kind: Kind, status: Int32 = 0, length: UInt64) {
            self.kind = kind
            self.status = status
            self.length = length
        }

        public var bytes: [UInt8] {
            var out = [UInt8](repeating: 0, count: WorkerWire.headerSize)
            out.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: WorkerWire.magic.littleEndian, toByteOffset: 0, as: UInt16.self)
                raw.storeBytes(of: WorkerWire.version, toByteOffset: 2, as: UInt8.self)
                raw.storeBytes(of: kind.rawValue, toByteOffset: 3, as: UInt8.self)
                raw.storeBytes(of: status.littleEndian, toByteOffset: 4, as: Int32.self)
                raw.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt64.self)
            }
            return out
        }

        /// Decodes a header, or says what is wrong with it.
        public init(_ raw: UnsafeRawBufferPointer) throws(WireError) {
            guard raw.count >= WorkerWire.headerSize else { throw WireError("short header (\(raw.count) bytes)") }
            let magic = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
            guard magic == WorkerWire.magic else { throw WireError("bad magic 0x\(String(magic, radix: 16))") }
            let version = raw[2]
            guard version == WorkerWire.version else {
                throw WireError("peer speaks wire protocol \(version), this side \(WorkerWire.version)")
            }
            guard let kind = Kind(rawValue: raw[3]) else { throw WireError("unknown message type \(raw[3])") }
            self.kind = kind
            status = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: Int32.self))
            length = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    public struct WireError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    // Blocking helpers for the worker, whose only job is this conversation.

    /// Writes a whole frame; false if the peer is gone.
    public static func send(_ kind: Kind, status: Int32 = 0, _ payload: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        let header = Header(kind: kind, status: status, length: UInt64(payload.count)).bytes
        return header.withUnsafeBytes { writeAll(fd, $0) } && writeAll(fd, payload)
    }

    public static func send(_ kind: Kind, status: Int32 = 0, _ payload: [UInt8], to fd: Int32) -> Bool {
        payload.withUnsafeBytes { send(kind, status: status, $0, to: fd) }
    }

    /// Reads one frame; nil at end of stream. Refuses payloads over `limit` bytes.
    public static func receive(from fd: Int32, limit: UInt64) throws(WireError) -> (Header, [UInt8])? {
        var raw = [UInt8](repeating: 0, count: headerSize)
        let got = raw.withUnsafeMutableBytes { readAll(fd, $0) }
        if got == 0 { return nil }
        guard got == headerSize else { throw WireError("stream ended inside a header") }
        let header = try raw.withUnsafeBytes { bytes in Result { () throws(WireError) in try Header(bytes) } }.get()
        guard header.length <= limit else { throw WireError("payload of \(header.length) bytes exceeds the limit of \(limit)") }
        var payload = [UInt8](repeating: 0, count: Int(header.length))
        let count = payload.withUnsafeMutableBytes { readAll(fd, $0) }
        guard count == payload.count else { throw WireError("stream ended inside a payload") }
        return (header, payload)
    }

    /// Reads until `buffer` is full or the stream ends; returns the bytes read.
    static func readAll(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        while offset < buffer.count {
            let count = read(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            offset += count
        }
        return offset
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }
}
