import CCurl
import CWavehostShims
import Foundation
import WavehostEngine
import WavehostPlugins
import WavehostSandbox

/// An HTTP GET to a loopback server through the host service from a sandboxed actor (the
/// bundled http-fetcher), beside its floor in the same run: the same GET made with libcurl
/// directly from this process, reusing its connection, plus one warm worker round trip
/// (echo-c). Rounds alternate, so all see the same machine.
///
/// A whole invoke of the fetcher holds more than its GET: the invoke's own round trip and
/// the fetcher's work (URL policy, JSON parse, answer). So the same fetcher also reads the
/// same page from a file, in the same kind of worker: the GET as the actor meets it is the
/// difference of the two invokes plus the file read they differ by (measured here, outside
/// a sandbox, so a little less than inside: the GET's figure errs high, not low).
///
/// Everything runs on one CPU: the server's threads, the worker and this thread. The GET
/// through the host hands off four times, its floor twice, and on some VMs a hand-off to
/// the other CPU costs 25–50 µs, which would be measured twice over instead of the code.
func benchHostCall(_ context: BenchContext) throws {
    var placement = [UInt8](repeating: 0, count: 128)
    let cpu = wh_shim_keep_to_this_cpu(&placement)
    guard cpu >= 0 else { throw BenchFailure("cannot keep to one CPU: errno \(-cpu)") }
    defer { wh_shim_restore_cpus(placement) }
    print("note: hostcall runs on CPU \(cpu) alone (the server, the worker and the bench)")
    let page = #"{"data":[{"id":1}],"paging":{"next":null}}"#
    let server = try KeepAliveServer(body: page)
    let url = "http://127.0.0.1:\(server.port)/page"
    let folder = context.cacheDirectory + "/hostcall-pages"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try page.write(toFile: folder + "/page.json", atomically: true, encoding: .utf8)
    let loader = PluginLoader(cache: PluginCache(directory: context.cacheDirectory))
    var configuration = WorkerPool.Configuration()
    configuration.workerPath = context.productsDirectory + "/wavehost-worker"
    configuration.size = 1
    // Workers spawned from this thread, so that they keep to its CPU (a forked one would
    // take the zygote's CPUs); they are started below, by the warm-up's first calls.
    WorkerZygote.enabled.store(false, ordering: .relaxed)
    defer { WorkerZygote.enabled.store(true, ordering: .relaxed) }
    let echo = WorkerPool(plugin: try loader.load(context.plugin("EchoC")), configuration: configuration)
    let fetcherPlugin = try loader.load(context.plugin("HTTPFetcher"))
    var reading = configuration
    reading.readGrant = [folder]
    let fileFetcher = WorkerPool(plugin: fetcherPlugin, config: Array(#"{"url":"file://\#(folder)/page.json","allow_file":true,"file_root":"\#(folder)"}"#.utf8),
                                 configuration: reading)
    configuration.networkGrant = try NetworkGrant(allow: ["127.0.0.1"], schemes: ["http"])
    let fetcher = WorkerPool(plugin: fetcherPlugin, config: Array(#"{"url":"\#(url)"}"#.utf8),
                             configuration: configuration)
    defer { echo.shutdown(); fetcher.shutdown(); fileFetcher.shutdown() }

    curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    guard let handle = curl_easy_init() else { throw BenchFailure("curl_easy_init failed") }
    defer { curl_easy_cleanup(handle) }
    _ = ccurl_set_string(handle, CURLOPT_URL, url)
    _ = ccurl_set_long(handle, CURLOPT_NOSIGNAL, 1)
    _ = ccurl_set_writer(handle, discardBody, nil)
    let input = Array("{}".utf8)
    func direct() throws {
        guard curl_easy_perform(handle) == CURLE_OK, ccurl_response_code(handle) == 200 else { throw BenchFailure("direct GET failed") }
    }
    func readFile() throws {
        let fd = open(folder + "/page.json", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchFailure("cannot open the page file") }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while chunk.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
    for _ in 0..<300 {
        try direct()
        _ = try echo.invoke(input, timeout: .seconds(5))
        _ = try fetcher.invoke(input, timeout: .seconds(5))
        _ = try fileFetcher.invoke(input, timeout: .seconds(5))
    }
    // The host's side alone, in this process: checks, pin, transfer, record.
    let service = HostHTTP(actor: "bench", grant: configuration.networkGrant)
    func viaService() throws {
        guard service.perform(HostHTTPRequest(method: "GET", url: url)).httpStatus == 200 else { throw BenchFailure("service GET failed") }
    }
    var floor: [Double] = [], trip: [Double] = [], hosted: [Double] = [], served: [Double] = [], filed: [Double] = [], reads: [Double] = []
    // Short rounds in turn, so a busy moment of the machine falls on all four alike.
    for _ in 0..<30 {
        for _ in 0..<100 { floor.append(try timed(direct)) }
        for _ in 0..<100 { served.append(try timed(viaService)) }
        for _ in 0..<100 { trip.append(try timed { _ = try echo.invoke(input, timeout: .seconds(5)) }) }
        for _ in 0..<100 { hosted.append(try timed { _ = try fetcher.invoke(input, timeout: .seconds(5)) }) }
        for _ in 0..<100 { filed.append(try timed { _ = try fileFetcher.invoke(input, timeout: .seconds(5)) }) }
        for _ in 0..<100 { reads.append(try timed(readFile)) }
    }
    let (f, t, h) = (percentile(floor, 50), percentile(trip, 50), percentile(hosted, 50))
    let get = h - percentile(filed, 50) + percentile(reads, 50)
    report("hostcall.floor_curl_reused_connection_get_p50", f / 1000, "us")
    report("hostcall.warm_worker_roundtrip_p50", t / 1000, "us")
    report("hostcall.host_service_in_process_get_p50", percentile(served, 50) / 1000, "us")
    report("hostcall.sandboxed_fetcher_invoke_p50", h / 1000, "us")
    report("hostcall.sandboxed_fetcher_invoke_p99", percentile(hosted, 99) / 1000, "us")
    report("hostcall.sandboxed_fetcher_invoke_from_file_p50", percentile(filed, 50) / 1000, "us")
    report("hostcall.file_read_p50", percentile(reads, 50) / 1000, "us")
    report("hostcall.sandboxed_get_via_host_p50", get / 1000, "us")
    report("hostcall.goal_1.3x_floor_plus_roundtrip", (1.3 * f + t) / 1000, "us")
    report("hostcall.p50_over_goal", get / (1.3 * f + t), "x")
    server.stop()
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
