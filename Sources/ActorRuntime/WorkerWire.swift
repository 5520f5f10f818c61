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
        /// worker → host, during a call: the actor asks the host for an HTTP request
        /// (payload: ``HostHTTPWire``); the worker's calling thread waits for the answer.
        case httpRequest = 7
        /// host → worker: the answer to the one outstanding `httpRequest`.
        case httpResponse = 8
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

        public var bytes: [UInt8] { withBytes { Array($0) } }

        /// The encoded header, on the stack: a call sends one per frame.
        public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
            withUnsafeTemporaryAllocation(byteCount: WorkerWire.headerSize, alignment: 8) { raw in
                raw.storeBytes(of: WorkerWire.magic.littleEndian, toByteOffset: 0, as: UInt16.self)
                raw.storeBytes(of: WorkerWire.version, toByteOffset: 2, as: UInt8.self)
                raw.storeBytes(of: kind.rawValue, toByteOffset: 3, as: UInt8.self)
                raw.storeBytes(of: status.littleEndian, toByteOffset: 4, as: Int32.self)
                raw.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt64.self)
                return body(UnsafeRawBufferPointer(raw))
            }
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
        Header(kind: kind, status: status, length: UInt64(payload.count)).withBytes { header in
            var sent = 0
            while sent < header.count + payload.count {
                let count = sendFrame(fd, header: header, payload: payload, from: sent)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return false }
                sent += count
            }
            return true
        }
    }

    /// One `sendmsg` of a frame's header and payload, from byte `offset` of the frame on:
    /// one write, so the peer wakes once per frame, not for the header and again for the
    /// payload. Returns what `sendmsg` returns.
    public static func sendFrame(_ fd: Int32, header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, from offset: Int) -> Int {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { parts in
            var count = 0
            if offset < header.count {
                parts[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress! + offset), iov_len: header.count - offset)
                count += 1
            }
            let payloadOffset = max(0, offset - header.count)
            if payloadOffset < payload.count {
                parts[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress! + payloadOffset),
                                     iov_len: payload.count - payloadOffset)
                count += 1
            }
            guard count > 0 else { return 0 }
            var message = msghdr()
            message.msg_iov = parts.baseAddress
            message.msg_iovlen = count
            return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
        }
    }

    public static func send(_ kind: Kind, status: Int32 = 0, _ payload: [UInt8], to fd: Int32) -> Bool {
        payload.withUnsafeBytes { send(kind, status: status, $0, to: fd) }
    }
}
