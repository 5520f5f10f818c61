import Foundation
import Testing

/// The model server `tools/llm install` builds must run on any x86-64-v3 machine, not only on
/// the CPU it was compiled on. It builds two variants and keeps the faster one that answered a
/// completion here: the baseline holds no AVX-512 (EVEX-encoded), AMX or VNNI instruction,
/// whatever the build machine offers; the AVX-512 one no AMX; a build that traps is refused.
@Suite struct ModelServerPortabilityTests {
    static let amx = "ldtilecfg|sttilecfg|tileloadd|tileloaddt1|tilestored|tilezero|tilerelease|tdpb[a-z]*|tdpfp16ps"

    /// Counts instructions in `file`'s code that match: with `evex`, an EVEX prefix (0x62 opening
    /// an instruction, after any legacy prefixes: AVX-512 in every form); and `mnemonics`.
    static func instructions(in file: String, evex: Bool, mnemonics: String) throws -> (count: Int, sample: String) {
        let prefixes = "(?:(?:26|2e|36|3e|64|65|66|67|f0|f2|f3) )*"
        let pattern = (evex ? "^ *[0-9a-f]+:\t\(prefixes)62 |" : "") + "\t(\(mnemonics))\\b"
        let found = try TestPlugins.temporaryDirectory() + "/found"
        let script = "objdump -d -w '\(file)' | grep -P '\(pattern)' > '\(found)'; wc -l < '\(found)'; head -5 '\(found)'"
        let scan = try TestPlugins.run("/bin/sh", ["-c", script])
        let lines = scan.output.split(separator: "\n", omittingEmptySubsequences: false)
        guard scan.status == 0, let first = lines.first, let count = Int(first.trimmingCharacters(in: .whitespaces)) else {
            throw TestSetupError("objdump of \(file) failed: \(scan.output)\(scan.error)")
        }
        return (count, lines.dropFirst().joined(separator: "\n"))
    }

    /// Beyond x86-64-v3: AVX-512 in any form, AMX, and VNNI dot products (AVX-512 VNNI or AVX-VNNI).
    static func beyondBaseline(in file: String) throws -> (count: Int, sample: String) {
        try instructions(in: file, evex: true, mnemonics: amx + "|vpdpbusds?|vpdpwssds?")
    }

    /// The scan finds what it looks for: a function built for AVX-512 and AMX is caught.
    @Test func theScanCatchesAVX512AndAMX() throws {
        let folder = try TestPlugins.temporaryDirectory()
        try """
            #include <immintrin.h>
            __attribute__((target("avx512f"))) void add16(float *a, const float *b) {
                _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), _mm512_loadu_ps(b)));
            }
            __attribute__((target("amx-tile"))) void release(void) { _tile_release(); }
            """.write(toFile: folder + "/wide.c", atomically: true, encoding: .utf8)
        let built = try TestPlugins.run("/usr/bin/env", ["cc", "-O2", "-shared", "-fPIC", "-o", folder + "/wide.so", folder + "/wide.c"])
        try #require(built.status == 0, "\(built.error)")
        let found = try Self.beyondBaseline(in: folder + "/wide.so")
        #expect(found.count == 4, "vmovups twice and vaddps on zmm, and tilerelease: \(found.sample)")
        #expect(try Self.instructions(in: folder + "/wide.so", evex: false, mnemonics: Self.amx).count == 1)
    }

    @Test func theBaselineBuildUsesNothingBeyondX86_64v3AndTheOtherNoAMX() throws {
        let server = try LLMServer.shared.get()
        let build = try #require(server.install["BUILD"])
        #expect(build.contains("-DGGML_NATIVE=OFF") && build.contains("-DGGML_AMX_TILE=OFF"), "recorded flags: \(build)")
        let folder = ((try #require(server.install["SERVER"])) as NSString).deletingLastPathComponent
        let baseline = try Self.beyondBaseline(in: folder + "/llama-server-x86-64-v3")
        #expect(baseline.count == 0, "\(baseline.count) instructions beyond x86-64-v3, e.g.:\n\(baseline.sample)")
        let wide = try Self.instructions(in: folder + "/llama-server-avx512", evex: false, mnemonics: Self.amx)
        #expect(wide.count == 0, "\(wide.count) AMX instructions, e.g.:\n\(wide.sample)")
    }

    /// What install recorded is a variant that answered a completion on this machine.
    @Test func theInstallRecordsTheVariantItProved() throws {
        let server = try LLMServer.shared.get()
        let variant = try #require(server.install["VARIANT"])
        #expect(["avx512", "x86-64-v3"].contains(variant))
        #expect(server.install["SERVER"]?.hasSuffix("/llama-server-\(variant)") == true)
        // The suite's own server is that binary, and it answers.
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server.pid)/exe") == server.install["SERVER"])
    }

    /// A build that dies of an illegal instruction is refused, and the message says so.
    @Test func aBuildThatTrapsFailsItsSelfTestNamingTheIllegalInstruction() throws {
        _ = try LLMServer.shared.get()  // an install to prove against
        let folder = try TestPlugins.temporaryDirectory()
        let trapping = folder + "/llama-server-trapping"
        // Written with O_CLOEXEC: a process another test spawns meanwhile must not inherit the
        // open file, or exec fails with "Text file busy" until that process execs.
        let fd = open(trapping, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        #expect(fd >= 0)
        let script = Array("#!/bin/sh\nkill -ILL $$\n".utf8)
        #expect(script.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == script.count)
        close(fd)
        var proved = try TestPlugins.run("/usr/bin/env", ["bash", TestPlugins.repositoryRoot + "/tools/llm", "prove", trapping])
        // A child forked before the close may still hold the file for an instant: then try again.
        for _ in 0..<3 where proved.error.contains("Text file busy") {
            usleep(200_000)
            proved = try TestPlugins.run("/usr/bin/env", ["bash", TestPlugins.repositoryRoot + "/tools/llm", "prove", trapping])
        }
        #expect(proved.status != 0)
        #expect(proved.error.contains("SIGILL, an illegal instruction"), "\(proved.error)")
    }
}
