import ActorRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The host's frame reader on a real socketpair: frames split or batched across reads,
/// and a lying header refused before its payload is awaited.
@Suite struct WireInboxTests {
    private func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }

    private func frame(_ kind: WorkerWire.Kind, _ text: String) -> [UInt8] {
        WorkerWire.Header(kind: kind, length: UInt64(text.utf8.count)).bytes + Array(text.utf8)
    }

    @Test func framesSplitOrBatchedAcrossReadsComeOutWhole() throws {
        let (writer, reader) = try pair()
        defer { close(writer); close(reader) }
        var inbox = WireInbox(limit: 1 << 20)
        let bytes = frame(.log, "one") + frame(.log, "two") + frame(.result, String(repeating: "x", count: 200_000))
        var frames: [WireInbox.Frame] = []
        for chunk in stride(from: 0, to: bytes.count, by: 7_001).map({ Array(bytes[$0..<min(bytes.count, $0 + 7_001)]) }) {
            _ = chunk.withUnsafeBytes { send(writer, $0.baseAddress, $0.count, 0) }
            while inbox.fill(from: reader) > 0 {}
            while let next = try inbox.next() { frames.append(next) }
        }
        #expect(frames.map(\.header.kind) == [.log, .log, .result])
        #expect(frames.map(\.payload.count) == [3, 3, 200_000])
        #expect(String(decoding: frames[1].payload, as: UTF8.self) == "two")
        #expect(inbox.buffered == 0)
    }

    @Test func aHeaderClaimingTooMuchIsRefusedBeforeItsPayload() throws {
        let (writer, reader) = try pair()
        defer { close(writer); close(reader) }
        var inbox = WireInbox(limit: 1024)
        let header = WorkerWire.Header(kind: .log, length: 1 << 40).bytes
        _ = header.withUnsafeBytes { send(writer, $0.baseAddress, $0.count, 0) }
        #expect(inbox.fill(from: reader) == 16)
        #expect { try inbox.next() } throws: { error in
            (error as? WorkerWire.WireError)?.description == "a frame of \(1 << 40) bytes exceeds the limit of 1024"
        }
    }
}
