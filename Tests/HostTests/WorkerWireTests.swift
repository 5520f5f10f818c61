import ActorRuntime
import WavehostJSON
import Testing

@Suite struct WorkerWireTests {
    @Test func headerRoundTrips() throws {
        let header = WorkerWire.Header(kind: .result, status: -1001, length: 1 << 40)
        let bytes = header.bytes
        #expect(bytes.count == 16)
        #expect(Array(bytes[0..<4]) == [0x57, 0x48, 1, 4], "magic 'WH', version 1, type result")
        #expect(try bytes.withUnsafeBytes { try WorkerWire.Header($0) } == header)
    }

    @Test(arguments: [
        ([0x00, 0x48, 1, 4], "bad magic"),
        ([0x57, 0x48, 2, 4], "peer speaks wire protocol 2, this side 1"),
        ([0x57, 0x48, 1, 99], "unknown message type 99"),
    ] as [([UInt8], String)])
    func badHeadersAreRefusedWithTheReason(_ start: [UInt8], _ reason: String) {
        let bytes = start + [UInt8](repeating: 0, count: 12)
        #expect {
            try bytes.withUnsafeBytes { try WorkerWire.Header($0) }
        } throws: { error in
            (error as? WorkerWire.WireError)?.description.contains(reason) == true
        }
    }
}

@Suite struct SandboxLimitsTests {
    @Test func readsAVariantsLimitsWithDefaultsForTheRest() throws {
        let limits = try SandboxLimits(json: ["memory_mb": 256, "output_bytes": 1024])
        #expect(limits.addressSpaceBytes == 256 << 20)
        #expect(limits.outputBytes == 1024)
        #expect(limits.cpuSeconds == SandboxLimits().cpuSeconds)
        #expect(try SandboxLimits.parse(limits.arguments).0 == limits, "the worker reads back what the host wrote")
    }

    @Test func refusesUnknownOrNonsenseLimits() {
        #expect(throws: SandboxLimits.LimitsError.self) { try SandboxLimits(json: ["memroy_mb": 1]) }
        #expect(throws: SandboxLimits.LimitsError.self) { try SandboxLimits(json: ["cpu_seconds": -1]) }
        #expect(throws: SandboxLimits.LimitsError.self) { try SandboxLimits(json: [1]) }
    }
}
