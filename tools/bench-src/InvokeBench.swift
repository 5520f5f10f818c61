import ActorABI
import WavehostEngine

#if canImport(Glibc)
import Glibc
#endif

/// In-process invoke of bundled actors with ~100 bytes of JSON in and out, beside the
/// bare cost of calling a C function pointer across the plugin boundary.
func benchInvoke(_ context: BenchContext) throws {
    let loader = context.trustingLoader(["EchoC", "JSONTransform"])
    let input = Array(#"{"id":"p-00042","title":"Senior Swift engineer","company":"Acme GmbH","city":"Berlin","remote":true}"#.utf8)

    // The floor: the plugin's own entry function, asked for a version it does not speak,
    // does no work; calling it is one indirect call into the plugin's image.
    let echo = try loader.load(context.plugin("EchoC"))
    _ = try echo.inProcessImage()  // trusted: mapped here (a description alone maps nothing)
    guard let handle = dlopen(echo.cachedPath, RTLD_NOW | RTLD_NOLOAD), let symbol = dlsym(handle, WH_ENTRY_SYMBOL) else {
        throw BenchError("cannot find \(WH_ENTRY_SYMBOL) in \(echo.cachedPath)")
    }
    let entry = unsafeBitCast(symbol, to: wh_actor_entry_fn.self)
    var sink: UnsafePointer<wh_actor_descriptor>?
    let floor = nanosecondsPerCall(calls: 2_000_000) { sink = entry(0, nil) }
    precondition(sink == nil)
    report("invoke.floor_c_function_pointer", floor, "ns")

    for (product, name) in [("EchoC", "echo_c"), ("JSONTransform", "json_transform_swift")] {
        let instance = try loader.load(context.plugin(product)).makeInstance()
        let output = try instance.invoke(input)
        let perCall = nanosecondsPerCall(calls: 200_000) { _ = try? instance.invoke(input) }
        report("invoke.\(name)", perCall, "ns")
        report("invoke.\(name).bytes_in_out", Double(input.count + output.count), "bytes")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
