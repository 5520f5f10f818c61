#if canImport(Glibc)
import Glibc
#endif

/// Frames arriving from a peer that may be hostile, read in large chunks: a worker that
/// floods the wire with small frames costs the reader one `read` per chunk, not two per
/// frame. Every header is checked as soon as it is whole, before its payload is awaited.
public struct WireInbox: Sendable {
    public struct Frame: Sendable {
        public let header: WorkerWire.Header
        public let payload: [UInt8]
    }

    /// The largest payload accepted; a header claiming more is a protocol violation.
    public let limit: UInt64
    /// Unread bytes are `storage[start..<end]`; the storage grows only for a large frame.
    private var storage = [UInt8](repeating: 0, count: 65_536)
    private var start = 0
    private var end = 0

    public init(limit: UInt64) { self.limit = limit }

    /// Bytes buffered and not yet returned as a frame.
    public var buffered: Int { end - start }

    /// The next whole frame, or nil when more bytes are needed.
    public mutating func next() throws(WorkerWire.WireError) -> Frame? {
        guard end - start >= WorkerWire.headerSize else { return nil }
        let offset = start
        let header = try storage.withUnsafeBytes { raw in
            Result { () throws(WorkerWire.WireError) in
                try WorkerWire.Header(UnsafeRawBufferPointer(start: raw.baseAddress! + offset, count: WorkerWire.headerSize))
            }
        }.get()
        guard header.length <= limit else {
            throw WorkerWire.WireError("a frame of \(header.length) bytes exceeds the limit of \(limit)")
        }
        let frameEnd = start + WorkerWire.headerSize + Int(header.length)
        guard frameEnd <= end else { return nil }
        let (first, count) = (start + WorkerWire.headerSize, Int(header.length))
        let payload = storage.withUnsafeBytes { [UInt8](UnsafeRawBufferPointer(start: $0.baseAddress! + first, count: count)) }
        start = frameEnd
        if start == end {
            (start, end) = (0, 0)
            // A large answer needed a large buffer; an idle worker does not keep it.
            if storage.count > 1 << 20 { storage = [UInt8](repeating: 0, count: 65_536) }
        }
        return Frame(header: header, payload: payload)
    }

    /// The next frame from a blocking `fd` (the worker's side, whose only job is this
    /// conversation); nil when the stream ends between frames.
    ///
    /// It waits in `poll` for input, not in `read`: a reader blocked in `read` on a Unix
    /// socket is also woken each time the peer takes in what this side sent (the kernel's
    /// write-space wake-up does not look at what the sleeper waits for), and each such
    /// wake-up costs two context switches. `poll` sleeps through them.
    public mutating func receive(blockingFrom fd: Int32) throws(WorkerWire.WireError) -> Frame? {
        while true {
            if let frame = try next() { return frame }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, -1) < 0 {
                if errno == EINTR { continue }
                throw WorkerWire.WireError("poll failed (errno \(errno))")
            }
            let got = fill(from: fd)
            if got > 0 || (got < 0 && errno == EINTR) { continue }
            if got == 0 && buffered == 0 { return nil }
            throw WorkerWire.WireError(got == 0 ? "the stream ended inside a frame" : "read failed (errno \(errno))")
        }
    }

    /// Adds what one `read` gives (as much as fits, with room made for the
    /// frame at the front); returns its result: bytes read, 0 at end of stream, -1 with `errno`.
    public mutating func fill(from fd: Int32) -> Int {
        var needed = WorkerWire.headerSize
        if end - start >= WorkerWire.headerSize {
            let offset = start
            let length = storage.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)) }
            needed += Int(min(length, limit))
        }
        if start > 0 && storage.count - start < max(needed, 4096) {
            // Move the unread bytes (less than one frame) to the front.
            let (offset, count) = (start, end - start)
            storage.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
            (start, end) = (0, count)
        }
        if storage.count < needed { storage += [UInt8](repeating: 0, count: needed - storage.count) }
        let offset = end
        let got = storage.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
        if got > 0 { end += got }
        return got
    }
}
