import ActorRuntime
import CWavehostShims
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// Applies every sandbox layer, in the order they depend on, and records what each one
/// did. Layers fail closed: ``missing`` names each required layer that did not hold and
/// that the operator did not accept as weak; the worker then refuses to load the actor.
///
/// The order: descriptors closed → die with the host → cgroup (root) → user namespace
/// (not root) → PID, IPC, UTS and network namespaces → fork the namespace's init and,
/// below it, the server (the process that goes on, PID 2, a child subreaper) → rlimits → identity (root: the pool's uid) → capabilities and
/// bounding set → RLIMIT_NPROC → Landlock (reads, writes, devices, TCP, scoping) →
/// no_new_privs → the syscall allowlist, last, because it refuses what came before.
struct SandboxLayers {
    private(set) var report: [(layer: String, status: String)] = []
    /// Required layers that did not hold, with the reason.
    private(set) var missing: [(layer: String, reason: String)] = []
    /// When each stage ended (CLOCK_MONOTONIC nanoseconds, the host's clock too): what a
    /// cold start costs, layer by layer (`tools/bench sandbox` prints it).
    private(set) var marks: [(stage: String, at: UInt64)]

    private init(startedAt: UInt64) { marks = [("main", startedAt)] }

    var json: JSON { .object(report.map { (key: $0.layer, value: .string($0.status)) }) }

    /// Layers the host refuses to run an untrusted actor without (unless accepted with
    /// `--allow-weak-sandbox LAYER`). Listed in docs/sandbox.md with what each missing one means.
    static let required = ["pid-namespace", "network-namespace", "identity", "capabilities", "tree-limits", "rlimits",
                           "filesystem", "landlock-scoping", "no-new-privileges", "syscall-filter"]

    static func apply(_ limits: SandboxLimits, scratch: String, keepStdio: Bool, startedAt: UInt64) -> SandboxLayers {
        var layers = SandboxLayers(startedAt: startedAt)
        // Only what the host gave on purpose: the wire (3) and stderr, or a script's stdio.
        _ = wh_sandbox_close_from(keepStdio ? 3 : 4)
        layers.record("die-with-host", wh_sandbox_die_with_parent())
        layers.mark("descriptors")
        let root = geteuid() == 0

        // The tree's memory and process count: a cgroup where root has one.
        var treeLimited = false
        if root, let cgroup = limits.cgroup {
            let joined = wh_sandbox_join_cgroup(cgroup, limits.addressSpaceBytes, limits.processes)
            if joined == 0 {
                treeLimited = true
                layers.report.append(("tree-limits", "ok (cgroup v1 \(cgroup): memory \(limits.addressSpaceBytes >> 20) MiB, "
                    + "\(limits.processes) processes for the whole tree)"))
            } else {
                layers.report.append(("cgroup", "unavailable: \(describe(joined)); falling back to RLIMIT_NPROC × RLIMIT_AS"))
            }
        }

        layers.mark("cgroup")

        // Namespaces: a user namespace first when not root, so the others need no privilege.
        var namespaces: Int32 = 0
        if root {
            layers.report.append(("user-namespace", "ok (not needed: root)"))
        } else {
            let user = wh_sandbox_user_namespace()
            layers.record("user-namespace", user)
        }
        let pid = wh_sandbox_unshare(WH_CLONE_NEWPID | WH_CLONE_NEWIPC | WH_CLONE_NEWUTS)
        if limits.network {
            layers.report.append(("network-namespace", "granted: the host's network (see the variant's network grant)"))
        } else {
            namespaces = wh_sandbox_unshare(WH_CLONE_NEWNET)
            layers.report.append(("network-namespace", namespaces == 0 ? "ok (empty: no interface but a down loopback)"
                                                                      : "unavailable: \(describe(namespaces))"))
            if namespaces != 0 { layers.fail("network-namespace", describe(namespaces)) }
        }
        layers.mark("namespaces")
        if pid == 0 {
            let forked = wh_sandbox_become_init()  // from here on: PID 1 of a new namespace
            layers.report.append(("pid-namespace", forked == 0 ? "ok (the worker runs below its namespace's own init; its tree dies with it, and is killed after each call)"
                                                               : "unavailable: fork: \(describe(forked))"))
            if forked != 0 { layers.fail("pid-namespace", "fork: \(describe(forked))") }
        } else {
            layers.report.append(("pid-namespace", "unavailable: \(describe(pid))"))
            layers.fail("pid-namespace", describe(pid))
        }

        layers.mark("init")
        layers.record("rlimits", setLimits(limits), required: true)
        chdir(scratch)

        // Identity: as root, the pool's own unprivileged uid; then no capability at all.
        if root {
            let bounding = wh_sandbox_drop_bounding_set()
            if let uid = limits.uid, let gid = limits.gid {
                let dropped = bounding == 0 ? wh_sandbox_drop_identity(uid, gid) : bounding
                layers.report.append(("identity", dropped == 0 ? "ok (uid \(uid), gid \(gid), no groups)" : "unavailable: \(describe(dropped))"))
                if dropped != 0 { layers.fail("identity", describe(dropped)) }
            } else {
                layers.report.append(("identity", "unavailable: running as root with no uid for the pool"))
                layers.fail("identity", "running as root with no uid for the pool")
            }
        } else {
            _ = wh_sandbox_drop_bounding_set()  // inside its user namespace the worker may
            layers.report.append(("identity", "ok (unprivileged uid \(getuid()))"))
        }
        layers.record("capabilities", wh_sandbox_drop_capabilities(), required: true)
        layers.mark("identity")

        let nproc = wh_sandbox_set_limit(6 /* RLIMIT_NPROC */, limits.processes)
        if !treeLimited {
            if nproc == 0 {
                let product = limits.processes * limits.addressSpaceBytes
                layers.report.append(("tree-limits", "ok without a cgroup: RLIMIT_NPROC \(limits.processes) × RLIMIT_AS "
                    + "\(limits.addressSpaceBytes >> 20) MiB (the tree may map up to \(product >> 30) GiB in all)"))
            } else {
                layers.report.append(("tree-limits", "unavailable: \(describe(nproc))"))
                layers.fail("tree-limits", describe(nproc))
            }
        }

        var scoped: Int32 = 0
        let reads = limits.reads.map { strdup($0) }
        defer { reads.forEach { free($0) } }
        let landlock = reads.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
            wh_sandbox_landlock(scratch, buffer.baseAddress, Int32(buffer.count), limits.network ? 1 : 0, &scoped)
        }
        if landlock > 0 {
            layers.report.append(("filesystem", "ok (landlock ABI \(landlock): reads only system folders, the actor's file, "
                + "scratch and granted paths; writes only in scratch; no device nodes)"))
            layers.report.append(("landlock-scoping", scoped != 0 ? "ok (signals and abstract sockets stay inside the worker)"
                                                                  : "unavailable: landlock ABI \(landlock) < 6"))
            if scoped == 0 { layers.fail("landlock-scoping", "landlock ABI \(landlock) < 6") }
        } else {
            layers.report.append(("filesystem", "unavailable: \(describe(landlock))"))
            layers.report.append(("landlock-scoping", "unavailable: no landlock"))
            layers.fail("filesystem", describe(landlock))
            layers.fail("landlock-scoping", "no landlock")
        }
        layers.mark("landlock")
        layers.record("no-new-privileges", wh_sandbox_no_new_privs(), required: true)
        let filter = wh_sandbox_filter_syscalls(limits.network ? 1 : 0)
        layers.report.append(("syscall-filter", filter == 0
            ? "ok (allowlist\(limits.network ? "; IPv4/IPv6 sockets granted" : "; no sockets"))" : "unavailable: \(describe(filter))"))
        if filter != 0 { layers.fail("syscall-filter", describe(filter)) }
        layers.mark("seccomp")
        layers.missing.removeAll { limits.weakLayersAccepted.contains($0.layer) || limits.weakLayersAccepted.contains("all") }
        return layers
    }

    private mutating func record(_ layer: String, _ result: Int32, required: Bool = false) {
        report.append((layer, result == 0 ? "ok" : "unavailable: \(Self.describe(result))"))
        if required && result != 0 { fail(layer, Self.describe(result)) }
    }

    private mutating func fail(_ layer: String, _ reason: String) { missing.append((layer, reason)) }

    mutating func mark(_ stage: String) { marks.append((stage, monotonicNanoseconds())) }

    /// The marks as JSON: {stage: nanoseconds}, in order.
    var marksJSON: JSON { .object(marks.map { (key: $0.stage, value: .integer(Int($0.at))) }) }

    /// Why the worker refuses to run the actor, naming the flag that accepts the weaker sandbox.
    var refusal: String? {
        guard !missing.isEmpty else { return nil }
        let what = missing.map { "\($0.layer) (\($0.reason))" }.joined(separator: ", ")
        let flags = missing.map { "--allow-weak-sandbox \($0.layer)" }.joined(separator: " ")
        return "the sandbox is weaker than required on this machine: \(what) did not hold; "
            + "refusing to run an untrusted actor (accept it knowingly with \(flags); see `wavehost doctor`)"
    }

    private static func describe(_ negativeErrno: Int32) -> String {
        String(cString: strerror(-negativeErrno))
    }

    private static func setLimits(_ limits: SandboxLimits) -> Int32 {
        let bounds: [(Int32, UInt64)] = [
            (Int32(RLIMIT_AS.rawValue), limits.addressSpaceBytes),
            (Int32(RLIMIT_CPU.rawValue), limits.cpuSeconds),
            (Int32(RLIMIT_NOFILE.rawValue), limits.openFiles),
            (Int32(RLIMIT_FSIZE.rawValue), limits.fileSizeBytes),
            (Int32(RLIMIT_CORE.rawValue), 0),  // a crashing actor leaves no core file
        ]
        for (resource, value) in bounds {
            let result = wh_sandbox_set_limit(resource, value)
            if result != 0 { return result }
        }
        return 0
    }
}
