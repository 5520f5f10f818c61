import Foundation

/// Why the service could not start or keep running, naming the thing at fault.
public struct ServeError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case badAddress, cannotListen, tokenFile, setup }
        private let value: Value
        public static let badAddress = Code(value: .badAddress)
        public static let cannotListen = Code(value: .cannotListen)
        public static let tokenFile = Code(value: .tokenFile)
        public static let setup = Code(value: .setup)
        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP server could not bind `address`; says so plainly for the common case.
    static func cannotListen(_ address: ServiceAddress, _ cause: any Error) -> ServeError {
        let text = "\(cause)"
        if text.localizedCaseInsensitiveContains("address already in use") || text.contains("errno: 98") {
            return ServeError(.cannotListen, "cannot listen on \(address): the address is already in use "
                + "(another process holds port \(address.port); pick another with --http HOST:PORT, or port 0 for a free one)")
        }
        return ServeError(.cannotListen, "cannot listen on \(address): \(text)")
    }
}

/// `HOST:PORT` of the HTTP server (`--http`).
public struct ServiceAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (`[::1]:PORT` for IPv6); port 0 asks for a free port.
    public init(parsing text: String) throws(ServeError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ServeError(.badAddress, "--http \(text): expected HOST:PORT with a port in 0…65535 (0 picks a free one), e.g. 127.0.0.1:9464")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ServeError(.badAddress, "--http \(text): the host is missing, e.g. 127.0.0.1:\(port)") }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var url: String { "http://\(self)" }
}
