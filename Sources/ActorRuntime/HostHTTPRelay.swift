import ActorABI

/// What a worker needs to relay an actor's HTTP request to the host and its answer back:
/// the request frame written straight from the ABI's struct, and the response frame read in
/// place. No Swift string is made of either on the way (a host call crosses here every time).
extension HostHTTPWire {
    /// The `httpRequest` frame of `request`, the same bytes `encode(_: HostHTTPRequest)`
    /// writes; nil when it would be larger than `limit`, found before any of the request's
    /// buffers is read. A NULL pointer is an empty part.
    public static func encode(_ request: wh_http_request, limit: UInt64) -> [UInt8]? {
        let headers = request.headers == nil ? 0 : request.header_count
        // Counted before anything is read: each length is the actor's word, and a forged one
        // must not make the worker read past its buffers or overflow the sum.
        var size: UInt64 = 16  // the method's and the URL's lengths, the timeout, the header count
        func add(_ count: Int) -> Bool {
            let (sum, overflow) = size.addingReportingOverflow(UInt64(clamping: count))
            guard count >= 0, !overflow, sum <= limit else { return false }
            size = sum
            return true
        }
        // Each header's two lengths take 8 bytes.
        let (lengths, tooMany) = headers.multipliedReportingOverflow(by: 8)
        guard headers >= 0, !tooMany, add(lengths), add(request.method == nil ? 0 : request.method_length),
              add(request.url == nil ? 0 : request.url_length), add(request.body == nil ? 0 : request.body_length)
        else { return nil }
        for index in 0..<headers {
            let header = request.headers[index]
            guard add(header.name == nil ? 0 : header.name_length), add(header.value == nil ? 0 : header.value_length) else { return nil }
        }

        var out: [UInt8] = []
        out.reserveCapacity(Int(size))
        text(request.method, request.method_length, to: &out)
        text(request.url, request.url_length, to: &out)
        u32(request.timeout_ms, to: &out)
        u32(UInt32(headers), to: &out)
        for index in 0..<headers {
            let header = request.headers[index]
            text(header.name, header.name_length, to: &out)
            text(header.value, header.value_length, to: &out)
        }
        if let body = request.body, request.body_length > 0 { out += UnsafeBufferPointer(start: body, count: request.body_length) }
        return out
    }

    private static func text(_ pointer: UnsafePointer<CChar>?, _ length: Int, to out: inout [UInt8]) {
        guard let pointer, length > 0 else { return u32(0, to: &out) }
        u32(UInt32(length), to: &out)
        pointer.withMemoryRebound(to: UInt8.self, capacity: length) { out += UnsafeBufferPointer(start: $0, count: length) }
    }

    /// An `httpResponse` frame, checked, with where each part lies in its payload.
    public struct ResponseFrame: Sendable {
        public let payload: [UInt8]
        /// WH_OK, or why there is no response (then `error` holds the reason).
        public let status: wh_status
        public let httpStatus: Int32
        public let error: Range<Int>?
        public let headers: [(name: Range<Int>, value: Range<Int>)]
        public let body: Range<Int>

        /// Reads `payload`; a part that overruns it is a malformed frame.
        public init(_ payload: [UInt8]) throws(WorkerWire.WireError) {
            var reader = Reader(payload, "httpResponse")
            status = Int32(bitPattern: try reader.u32())
            httpStatus = Int32(bitPattern: try reader.u32())
            error = try reader.byte() == 0 ? nil : try reader.textRange()
            headers = try reader.headerRanges()
            body = reader.restRange
            self.payload = payload
        }

        /// The frame of a failure the worker answers itself.
        public init(failure status: wh_status, _ message: String) {
            // A frame this module wrote is well-formed.
            try! self.init(HostHTTPWire.encode(HostHTTPResponse(failure: status, message)))
        }
    }
}
