import Crypto

#if canImport(Glibc)
import Glibc
#endif

/// The SHA-256 of a file, as 64 lowercase hex digits: an actor version's identity.
public enum ContentHash {
    /// Hashes the file at `path` in 1 MiB reads, copying every byte read to `copy`
    /// when given, so a copy provably has the hash returned even if the source
    /// changes meanwhile. Returns nil, with `errno` set, when reading or writing fails.
    public static func sha256(ofFile path: String, copyingTo copy: Int32? = nil) -> String? {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { return nil }
        defer { close(source) }
        var hasher = SHA256()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = read(source, chunk.baseAddress, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: chunk[..<count])
            hasher.update(bufferPointer: bytes)
            if let copy, !writeAll(copy, bytes) { return nil }
        }
        return hex(hasher.finalize())
    }

    public static func sha256(of bytes: some Sequence<UInt8>) -> String {
        let data = Array(bytes)
        // Most bodies of host calls are empty: their hash is a constant.
        return data.isEmpty ? emptySHA256 : hex(SHA256.hash(data: data))
    }

    private static let emptySHA256 = hex(SHA256.hash(data: [UInt8]()))

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Written in place from the digest's bytes: the host's HTTP service hashes the bodies
    /// of every call, and a digest's own iterator takes twenty instructions a byte.
    private static func hex(_ digest: SHA256Digest) -> String {
        digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digit(byte >> 4)
                    out[2 * index + 1] = digit(byte & 0xF)
                }
                return 2 * bytes.count
            }
        }
    }

    private static func digit(_ value: UInt8) -> UInt8 { value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10 }
}
