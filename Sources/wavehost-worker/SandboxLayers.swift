import ActorRuntime
import CWavehostShims
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// Applies every sandbox layer this machine supports, in the order they depend on,
/// and records what each one did, so the host can say once which are missing.
struct SandboxLayers {
    private(set) var report: [(layer: String, status: String)] = []

    var json: JSON { .object(report.map { (key: $0.layer, value: .string($0.status)) }) }

    static func apply(_ limits: SandboxLimits, scratch: String) -> SandboxLayers {
        var layers = SandboxLayers()
        layers.record("die-with-host", wh_sandbox_die_with_parent())
        layers.record("rlimits", setLimits(limits))
        chdir(scratch)
        // The network namespace must come before the filter, which denies unshare.
        if !limits.network { layers.record("network-namespace", wh_sandbox_unshare_network()) }
        let landlock = wh_sandbox_writes_only_beneath(scratch)
        layers.report.append(("filesystem", landlock > 0 ? "ok (landlock ABI \(landlock), writes only in scratch)"
                                                        : "unavailable: \(describe(landlock))"))
        layers.record("no-new-privileges", wh_sandbox_no_new_privs())
        let filter = wh_sandbox_filter_syscalls(limits.network ? 1 : 0)
        layers.report.append(("syscall-filter", filter == 0
            ? (limits.network ? "ok" : "ok (socket denied)") : "unavailable: \(describe(filter))"))
        return layers
    }

    private mutating func record(_ layer: String, _ result: Int32) {
        report.append((layer, result == 0 ? "ok" : "unavailable: \(Self.describe(result))"))
    }

    private static func describe(_ negativeErrno: Int32) -> String {
        String(cString: strerror(-negativeErrno))
    }

    private static func setLimits(_ limits: SandboxLimits) -> Int32 {
        let bounds: [(Int32, UInt64)] = [
            (Int32(RLIMIT_AS.rawValue), limits.addressSpaceBytes),
            (Int32(RLIMIT_CPU.rawValue), limits.cpuSeconds),
            (Int32(RLIMIT_NOFILE.rawValue), limits.openFiles),
            (Int32(RLIMIT_CORE.rawValue), 0),  // a crashing actor leaves no core file
        ]
        for (resource, value) in bounds {
            var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
            if setrlimit(__rlimit_resource_t(UInt32(resource)), &limit) != 0 { return -errno }
        }
        return 0
    }
}
