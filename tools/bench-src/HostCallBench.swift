import CCurl
import CWavehostShims
import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostSandbox

/// An HTTP GET to a loopback server through the host service from a sandboxed actor,
/// beside its floor in the same run: the same GET made with libcurl directly from this
/// process, reusing its connection, plus one warm worker round trip (echo-c). Rounds
/// alternate, so all see the same machine.
///
/// The actor is url-probe (C): its invoke is one round trip, the GET, and a few hundred
/// nanoseconds of JSON; so the GET as the actor meets it is its invoke less echo-c's, and
/// errs high by that JSON. Each call is recorded as the engine records it (the host-call
/// log of an interaction), so the figure holds the audit record and its two SHA-256s.
/// The bundled http-fetcher's whole invoke is reported beside it. The floor and the service
/// alone are also timed right after a worker's round trip (less the trip): what they cost on
/// a CPU just back from another address space, as the host meets a worker's request; and
/// the floor right after a switch to a thread and to a small process (`cat`): what the
/// machine itself charges for a switch, with no Wavehost code in it.
///
/// Everything runs on one CPU: the server's threads, the workers and this thread. The GET
/// through the host hands off four times, its floor twice, and on some VMs a hand-off to
/// the other CPU costs 25–50 µs, which would be measured twice over instead of the code.
func benchHostCall(_ context: BenchContext) throws {
    var placement = [UInt8](repeating: 0, count: 128)
    let cpu = wh_shim_keep_to_this_cpu(&placement)
    guard cpu >= 0 else { throw BenchFailure("cannot keep to one CPU: errno \(-cpu)") }
    defer { wh_shim_restore_cpus(placement) }
    print("note: hostcall runs on CPU \(cpu) alone (the server, the workers and the bench)")
    let page = #"{"data":[{"id":1}],"paging":{"next":null}}"#
    let server = try KeepAliveServer(body: page)
    let url = "http://127.0.0.1:\(server.port)/page"
    let loader = PluginLoader(cache: PluginCache(directory: context.cacheDirectory))
    var configuration = WorkerPool.Configuration()
    configuration.workerPath = context.productsDirectory + "/wavehost-worker"
    configuration.size = 1
    // Workers spawned from this thread, so that they keep to its CPU (a forked one would
    // take the zygote's CPUs); they are started below, by the warm-up's first calls.
    WorkerZygote.enabled.store(false, ordering: .relaxed)
    defer { WorkerZygote.enabled.store(true, ordering: .relaxed) }
    let echo = WorkerPool(plugin: try loader.load(context.plugin("EchoC")), configuration: configuration)
    configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
    let config = Array(#"{"url":"\#(url)"}"#.utf8)
    let probe = WorkerPool(plugin: try loader.load(context.plugin("URLProbe")), config: config, configuration: configuration)
    let fetcher = WorkerPool(plugin: try loader.load(context.plugin("HTTPFetcher")), config: config, configuration: configuration)
    defer { echo.shutdown(); probe.shutdown(); fetcher.shutdown() }

    curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    guard let handle = curl_easy_init() else { throw BenchFailure("curl_easy_init failed") }
    defer { curl_easy_cleanup(handle) }
    _ = ccurl_set_string(handle, CURLOPT_URL, url)
    _ = ccurl_set_long(handle, CURLOPT_NOSIGNAL, 1)
    _ = ccurl_set_writer(handle, discardBody, nil)
    // The same request on the wire as url-probe's: its User-Agent header (0.6 µs of the GET here).
    let agent = (name: "User-Agent", value: "wavehost-url-probe/1.0")
    let agentLine = curl_slist_append(nil, "\(agent.name): \(agent.value)")
    defer { curl_slist_free_all(agentLine) }
    _ = ccurl_set_pointer(handle, CURLOPT_HTTPHEADER, agentLine.map { UnsafeMutableRawPointer($0) })
    let input = Array("{}".utf8)
    func direct() throws {
        guard curl_easy_perform(handle) == CURLE_OK, ccurl_response_code(handle) == 200 else { throw BenchFailure("direct GET failed") }
    }
    // As the engine calls an actor: inside an interaction's host-call log.
    func recorded(_ pool: WorkerPool, calls: Int) throws {
        let (_, records) = try HostCallLog.collecting(for: .prod) { try pool.invoke(input, timeout: .seconds(5)) }
        guard records.count == calls, records.allSatisfy({ $0.status == 200 }) else { throw BenchFailure("a host call went unrecorded or failed") }
    }
    // The host's side alone, in this process: checks, pin, transfer, record.
    let service = HostHTTP(actor: "bench", grant: configuration.networkGrant)
    let request = HostHTTPRequest(method: "GET", url: url, headers: [agent])
    func viaService() throws {
        let (response, records) = HostCallLog.collecting(for: .prod) { service.perform(request) }
        guard response.httpStatus == 200, records.count == 1 else { throw BenchFailure("service GET failed") }
    }
    for _ in 0..<300 {
        try direct()
        try viaService()
        try recorded(echo, calls: 0)
        try recorded(probe, calls: 1)
        try recorded(fetcher, calls: 1)
    }
    var floor: [Double] = [], trip: [Double] = [], served: [Double] = [], probed: [Double] = [], fetched: [Double] = []
    // The floor and the service again, each right after a worker's round trip: as the host
    // meets a worker's request, on a CPU just back from another address space.
    var floorAfterTrip: [Double] = [], servedAfterTrip: [Double] = []
    // The machine's own price of a switch, with no Wavehost in it: the floor right after a
    // one-byte ping-pong with a thread of this process, and with a small other process (cat).
    let threadEcho = try ByteEcho.thread(), processEcho = try ByteEcho.process()
    defer { threadEcho.stop(); processEcho.stop() }
    var threadPing: [Double] = [], processPing: [Double] = [], floorAfterThread: [Double] = [], floorAfterProcess: [Double] = []
    // Short rounds in turn, so a busy moment of the machine falls on all alike.
    for _ in 0..<30 {
        for _ in 0..<100 { floor.append(try timed(direct)) }
        for _ in 0..<100 { served.append(try timed(viaService)) }
        for _ in 0..<100 { trip.append(try timed { try recorded(echo, calls: 0) }) }
        for _ in 0..<100 { probed.append(try timed { try recorded(probe, calls: 1) }) }
        for _ in 0..<100 { fetched.append(try timed { try recorded(fetcher, calls: 1) }) }
        for _ in 0..<100 { floorAfterTrip.append(try timed { try recorded(echo, calls: 0); try direct() }) }
        for _ in 0..<100 { servedAfterTrip.append(try timed { try recorded(echo, calls: 0); try viaService() }) }
        for _ in 0..<100 { threadPing.append(try timed(threadEcho.ping)) }
        for _ in 0..<100 { floorAfterThread.append(try timed { try threadEcho.ping(); try direct() }) }
        for _ in 0..<100 { processPing.append(try timed(processEcho.ping)) }
        for _ in 0..<100 { floorAfterProcess.append(try timed { try processEcho.ping(); try direct() }) }
    }
    let (f, t, p) = (percentile(floor, 50), percentile(trip, 50), percentile(probed, 50))
    let get = p - t
    report("hostcall.floor_curl_reused_connection_get_p50", f / 1000, "us")
    report("hostcall.warm_worker_roundtrip_p50", t / 1000, "us")
    report("hostcall.host_service_in_process_get_p50", percentile(served, 50) / 1000, "us")
    report("hostcall.floor_after_worker_roundtrip_p50", (percentile(floorAfterTrip, 50) - t) / 1000, "us")
    report("hostcall.host_service_after_worker_roundtrip_p50", (percentile(servedAfterTrip, 50) - t) / 1000, "us")
    report("hostcall.machine_floor_after_thread_switch_p50", (percentile(floorAfterThread, 50) - percentile(threadPing, 50)) / 1000, "us")
    report("hostcall.machine_floor_after_process_switch_p50", (percentile(floorAfterProcess, 50) - percentile(processPing, 50)) / 1000, "us")
    report("hostcall.sandboxed_probe_invoke_p50", p / 1000, "us")
    report("hostcall.sandboxed_probe_invoke_p99", percentile(probed, 99) / 1000, "us")
    report("hostcall.sandboxed_fetcher_invoke_p50", percentile(fetched, 50) / 1000, "us")
    report("hostcall.sandboxed_get_via_host_p50", get / 1000, "us")
    report("hostcall.goal_1.3x_floor_plus_roundtrip", (1.3 * f + t) / 1000, "us")
    report("hostcall.p50_over_goal", get / (1.3 * f + t), "x")
    server.stop()
}

/// A partner that echoes each byte sent to it: a thread of this process, or `cat` (another
/// address space, a few pages of code). Both keep to the CPU of the thread that made them.
private final class ByteEcho: @unchecked Sendable {
    private let send: Int32, receive: Int32
    private let child: Process?
    /// The child's pipes, kept: their file handles close the descriptors when they go.
    private let pipes: [Pipe]

    private init(send: Int32, receive: Int32, child: Process? = nil, pipes: [Pipe] = []) {
        (self.send, self.receive, self.child, self.pipes) = (send, receive, child, pipes)
    }

    static func thread() throws -> ByteEcho {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw BenchFailure("socketpair failed") }
        let far = pair[1]
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while read(far, &byte, 1) == 1 { _ = write(far, &byte, 1) }
            close(far)
        }
        return ByteEcho(send: pair[0], receive: pair[0])
    }

    static func process() throws -> ByteEcho {
        let (input, output) = (Pipe(), Pipe())
        let cat = Process()
        cat.executableURL = URL(fileURLWithPath: "/bin/cat")
        (cat.standardInput, cat.standardOutput) = (input, output)
        try cat.run()
        return ByteEcho(send: input.fileHandleForWriting.fileDescriptor, receive: output.fileHandleForReading.fileDescriptor,
                        child: cat, pipes: [input, output])
    }

    func ping() throws {
        var byte: UInt8 = 1
        guard write(send, &byte, 1) == 1, read(receive, &byte, 1) == 1 else { throw BenchFailure("the echo partner is gone") }
    }

    func stop() {
        if let child {
            child.terminate()
            child.waitUntilExit()
        } else {
            shutdown(send, Int32(SHUT_RDWR))  // its thread reads the end, and closes its side
            close(send)
        }
    }
}

private func timed(_ body: () throws -> Void) throws -> Double {
    let start = nanoseconds()
    try body()
    return Double(nanoseconds() - start)
}

private func discardBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    size * count
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A loopback HTTP/1.1 server answering every request with one body, keeping connections
/// open: the cheapest server, so the figures are the client's.
final class KeepAliveServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let response: [UInt8]

    init(body: String) throws {
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        self.response = response
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw BenchFailure("cannot listen on loopback") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 { return }
                Thread.detachNewThread { [self] in serve(connection) }
            }
        }
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var filled = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(connection, $0.baseAddress! + filled, $0.count - filled) }
            if count <= 0 { return }
            filled += count
            // One answer per request head (the bench's GETs have no body), found by a plain
            // scan: the server must cost the figures as little as it can.
            var start = 0
            var index = 3
            while index < filled {
                if buffer[index] == 10 && buffer[index - 1] == 13 && buffer[index - 2] == 10 && buffer[index - 3] == 13 {
                    let sent = response.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                    if sent != response.count { return }
                    start = index + 1
                    index += 4
                } else {
                    index += 1
                }
            }
            if start > 0 {
                buffer.withUnsafeMutableBytes { _ = memmove($0.baseAddress!, $0.baseAddress! + start, filled - start) }
                filled -= start
            }
            if filled == buffer.count { return }  // a request head larger than the buffer: not this bench's
        }
    }
}
