#if canImport(Glibc)
import Glibc
#endif

/// A whole file read as an actor should read one: its descriptor never reaches a child
/// (`O_CLOEXEC`), an interrupted read is retried, and past `limit` bytes it stops, so a huge
/// or endless file (a FIFO, `/dev/zero`) is an error instead of all of the worker's memory.
public enum ActorFile {
    public enum Failure: Error, Sendable, Equatable {
        /// The file could not be opened: the reason, as `strerror` gives it.
        case cannotOpen(String)
        /// A read failed part-way: the reason.
        case cannotRead(String)
        /// The file holds more than the limit.
        case tooLarge(limit: Int)
    }

    /// The bytes of the file at `path`, at most `limit` of them.
    public static func contents(of path: String, limit: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .cannotRead(String(cString: strerror(errno))) }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw .tooLarge(limit: limit) }
            bytes += chunk[..<count]
        }
    }
}
