// wavehost-bench: prints each figure as `bench: NAME VALUE UNIT`, beside the machine's
// floor measured in the same run. Run through tools/bench, which builds in release mode.
import WavehostEngine

#if canImport(Glibc)
import Glibc
#endif

let groups: [String: (BenchContext) throws -> Void] = [
    "backfill": benchBackfill,
    "describe": benchDescribe,
    "engine": benchEngine,
    "hostcall": benchHostCall,
    "invoke": benchInvoke,
    "reload": benchReload,
    "routing": benchRouting,
    "sandbox": benchSandbox,
    "scale": benchScale,
    "service": benchService,
    "tables": benchTables,
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3 else {
    print("usage: wavehost-bench PRODUCTS_DIR REPOSITORY FLOOR_PINGPONG [GROUP...]   groups: \(groups.keys.sorted().joined(separator: ", "))")
    exit(2)
}
let context = BenchContext(productsDirectory: arguments[0], repositoryRoot: arguments[1], floorPingPong: arguments[2])
let requested = arguments.count > 3 ? Array(arguments.dropFirst(3)) : groups.keys.sorted()
for name in requested {
    guard let group = groups[name] else {
        print("error: unknown group \(name); known: \(groups.keys.sorted().joined(separator: ", "))")
        exit(2)
    }
    do { try group(context) } catch {
        print("error: group \(name) failed: \(error)")
        exit(1)
    }
}
