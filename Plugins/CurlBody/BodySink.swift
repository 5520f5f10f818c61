import CCurl

/// Collects a libcurl response body, refusing more than `limit` bytes — shared by the
/// bundled actors that speak HTTP (http-fetcher, llm-grader). A static library each embeds.
public final class BodySink {
    public let limit: Int
    public private(set) var bytes: [UInt8] = []
    /// True when the body went past `limit` and the transfer was stopped.
    public private(set) var overflowed = false

    public init(limit: Int) { self.limit = limit }

    /// Makes `handle` write its body here; the sink must outlive the transfer.
    public func install(on handle: UnsafeMutableRawPointer) {
        _ = ccurl_set_writer(handle, collectBody, Unmanaged.passUnretained(self).toOpaque())
    }

    fileprivate func append(_ data: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + data.count <= limit else {
            overflowed = true
            return false
        }
        bytes.append(contentsOf: data)
        return true
    }
}

private func collectBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let length = size * count
    let sink = Unmanaged<BodySink>.fromOpaque(context).takeUnretainedValue()
    // A short count makes curl stop with a write error.
    return sink.append(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}
