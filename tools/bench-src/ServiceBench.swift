// In a release (whole-module) build of this target, glibc's socket types come through
// CCurl's headers (HostCallBench imports it): this file needs it too for SOCK_STREAM.
import CCurl
import CoreMetrics
import Foundation
import Prometheus
import Synchronization
import WavehostDashboard
import WavehostEngine
import WavehostPlugins
import WavehostService
import WavehostStore

/// The service's metrics: the engine group's workload with a Prometheus backend and without,
/// alternated in one run (off, on, off, on; the better of each pair of runs, on a fresh
/// SQLite file each), and `GET /metrics` over loopback once a step has 100 variants.
func benchService(_ context: BenchContext) throws {
    let metrics = WavehostMetrics()
    // swift-metrics takes one bootstrap per process: a switch in front of the backend lets
    // the same process measure with and without it. An engine makes its instruments at
    // start, so each run gets the backend the switch had then.
    let switchable = SwitchableMetrics(metrics.factory)
    MetricsSystem.bootstrap(switchable)
    let catalog = ActorCatalog(registry: PluginRegistry(loader: context.trustingLoader(["EchoC"])))
    try catalog.add(context.plugin("EchoC"))
    let folder = context.cacheDirectory + "/service"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)

    let subjects = (0..<10_000).map { Subject(key: "s\($0)", payload: ["n": .integer($0), "title": "Senior Swift engineer"]) }
    let workflow = """
        workflow: bench
        steps:
          a: {actor: echo-c, isolation: inprocess, input: subject}
          b: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          c: {actor: echo-c, isolation: inprocess, input: subject, after: [a]}
          d: {actor: echo-c, isolation: inprocess, input: subject, after: [b, c]}
          e: {actor: echo-c, isolation: inprocess, input: subject, after: [d]}
        """
    let definition = try WorkflowParser(file: "bench.yaml").parse(workflow)
    // Five pairs, the order flipped every pair, so drift (another build on the machine, a
    // growing page cache) falls on both sides; each pair's cost is the on run against its
    // own off run, and the figure is the median pair. CPU time per interaction is reported
    // too: it shifts less than wall time when other work shares the cores.
    var rates: [Bool: [Double]] = [false: [], true: []]
    var cpu: [Bool: [Double]] = [false: [], true: []]
    for pair in 0..<5 {
        for on in pair % 2 == 0 ? [false, true] : [true, false] {
            switchable.on.store(on, ordering: .relaxed)
            let store = try Store(location: folder + "/engine-\(pair)-\(on).db")
            var options = Engine.Options()
            options.concurrency = 2
            let cpuBefore = processCPUSeconds()
            let started = ContinuousClock.now
            let progress = try Engine(store: store, catalog: catalog, options: options).run(definition, source: workflow, subjects: subjects)
            let wall = ContinuousClock.now - started
            guard progress.interactionsCompleted == 50_000 else { throw BenchError("\(progress.interactionsCompleted) interactions, expected 50000") }
            rates[on]!.append(50_000 / (Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18))
            cpu[on]!.append((processCPUSeconds() - cpuBefore) * 1e6 / 50_000)
        }
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    report("service.engine.sqlite.durable_interactions.metrics_off", median(rates[false]!), "interactions/s")
    report("service.engine.sqlite.durable_interactions.metrics_on", median(rates[true]!), "interactions/s")
    report("service.engine.sqlite.metrics_cost", median(zip(rates[false]!, rates[true]!).map { ($0 - $1) / $0 * 100 }), "%")
    report("service.engine.sqlite.host_cpu_per_interaction.metrics_off", median(cpu[false]!), "us")
    report("service.engine.sqlite.host_cpu_per_interaction.metrics_on", median(cpu[true]!), "us")
    report("service.engine.sqlite.metrics_cpu_cost", median(zip(cpu[false]!, cpu[true]!).map { ($1 - $0) / $0 * 100 }), "%")

    // One step with 100 variants, each serving some subjects: 100 label sets per family.
    switchable.on.store(true, ordering: .relaxed)
    let variants = (0..<100).map { _ in "      - {actor: echo-c, isolation: inprocess, weight: 1}" }.joined(separator: "\n")
    let wide = "workflow: wide\nsteps:\n  only:\n    input: subject\n    variants:\n\(variants)\n"
    let store = try Store(location: folder + "/wide.db")
    _ = try Engine(store: store, catalog: catalog).run(try WorkflowParser(file: "wide.yaml").parse(wide), source: wide,
                                                        subjects: Array(subjects.prefix(5000)))
    let listening = Listening()
    let server = MetricsServer(address: ServiceAddress(host: "127.0.0.1", port: 0), metrics: metrics,
                               dashboard: Dashboard(store: store, token: "bench", backgroundIssues: { [] }), listening: listening)
    // Left running: the bench process exits after its groups (a cancel would log an error).
    Task { try await server.run() }
    let bound = Mutex<ServiceAddress?>(nil)
    let ready = DispatchSemaphore(value: 0)
    Task {
        let address = try? await listening.address()
        bound.withLock { $0 = address }
        ready.signal()
    }
    ready.wait()
    guard let address = bound.withLock({ $0 }) else { throw BenchError("the metrics server did not listen") }
    var size = 0
    let perGet = try medianNanoseconds(51) {
        let start = nanoseconds()
        size = try httpGet(port: address.port, path: "/metrics").count
        return Double(nanoseconds() - start)
    }
    report("service.metrics_get_100_variants", perGet / 1e6, "ms")
    report("service.metrics_body_100_variants", Double(size) / 1024, "KiB")
    report("service.metrics_render_100_variants", nanosecondsPerCall(runs: 11, calls: 20) { _ = metrics.render() } / 1e6, "ms")
}

/// The Prometheus backend when `on`, else swift-metrics' no-op handlers.
final class SwitchableMetrics: MetricsFactory, Sendable {
    let on = Atomic(false)
    let backend: PrometheusMetricsFactory
    init(_ backend: PrometheusMetricsFactory) { self.backend = backend }

    private var live: Bool { on.load(ordering: .relaxed) }
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        live ? backend.makeCounter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        live ? backend.makeFloatingPointCounter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        live ? backend.makeMeter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        live ? backend.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate) : NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        live ? backend.makeTimer(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

/// One HTTP/1.1 GET on loopback with a plain socket; returns the whole response.
func httpGet(port: Int, path: String) throws -> [UInt8] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw BenchError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { throw BenchError("send failed") }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response += buffer[..<count]
    }
    guard response.starts(with: Array("HTTP/1.1 200".utf8)) else { throw BenchError("GET \(path) did not answer 200") }
    return response
}

/// User and system CPU time of this process so far.
private func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
