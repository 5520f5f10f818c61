import Dispatch
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import WavehostDashboard

/// The service's HTTP server (Hummingbird): `GET /metrics` in the Prometheus text format;
/// every other request goes to the dashboard. Tells `listening` the address it bound (the
/// port it was given when asked for port 0) or why it could not.
public struct MetricsServer: Service {
    let address: ServiceAddress
    let metrics: WavehostMetrics
    let dashboard: Dashboard
    let listening: Listening
    let logger = Logger(label: "wavehost.http")
    /// Request bodies above this are refused; the dashboard's forms are small.
    static let maxBody = 1 << 20

    public init(address: ServiceAddress, metrics: WavehostMetrics, dashboard: Dashboard, listening: Listening) {
        self.address = address
        self.metrics = metrics
        self.dashboard = dashboard
        self.listening = listening
    }

    public func run() async throws {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in try await respond(to: request) }
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { [address, listening] channel in
                listening.resolve(.success(ServiceAddress(host: address.host, port: channel.localAddress?.port ?? address.port)))
            },
            logger: logger)
        do {
            try await app.run()
        } catch {
            let failure = ServeError.cannotListen(address, error)
            listening.resolve(.failure(failure))
            throw failure
        }
        listening.resolve(.failure(ServeError(.cannotListen, "the HTTP server on \(address) stopped before it listened")))
    }

    private func respond(to request: Request) async throws -> Response {
        if request.uri.path == "/metrics" {
            guard request.method == .get || request.method == .head else {
                return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"])
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        var body = ByteBuffer()
        do { body = try await request.body.collect(upTo: Self.maxBody) } catch {
            return Response(status: .contentTooLarge, body: .init(byteBuffer: ByteBuffer(string: "request body over \(Self.maxBody) bytes\n")))
        }
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        // HTTP types move the Host header into the request's authority: the dashboard's
        // same-origin check compares Origin with it.
        if let authority = request.head.authority { headers["host"] = authority }
        let dashboardRequest = DashboardRequest(method: request.method.rawValue, path: request.uri.path, query: query,
                                                headers: headers, body: body.readBytes(length: body.readableBytes) ?? [])
        // The dashboard reads the store synchronously: off the cooperative threads.
        let answer = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [dashboard] in continuation.resume(returning: dashboard.respond(dashboardRequest)) }
        }
        var fields = HTTPFields()
        fields[.contentType] = answer.contentType
        for (name, value) in answer.headers {
            // HTTPFields.Element is HTTPTypes' HTTPField, which Hummingbird does not re-export.
            if let name = HTTPFields.Element.Name(name) { fields.append(HTTPFields.Element(name: name, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

/// Set once by the HTTP server: the address it listens on, or why it could not.
public final class Listening: Sendable {
    private enum State {
        case waiting([CheckedContinuation<ServiceAddress, any Error>])
        case done(Result<ServiceAddress, any Error>)
    }

    private let state = Mutex(State.waiting([]))

    public init() {}

    func resolve(_ result: Result<ServiceAddress, any Error>) {
        let waiting: [CheckedContinuation<ServiceAddress, any Error>] = state.withLock { state in
            guard case .waiting(let list) = state else { return [] }
            state = .done(result)
            return list
        }
        for continuation in waiting { continuation.resume(with: result) }
    }

    /// Why the server could not listen, once it said so.
    public var failure: (any Error)? {
        state.withLock { state in
            if case .done(.failure(let error)) = state { return error }
            return nil
        }
    }

    /// The bound address, once the server listens; throws its failure to bind.
    public func address() async throws -> ServiceAddress {
        try await withCheckedThrowingContinuation { continuation in
            let done: Result<ServiceAddress, any Error>? = state.withLock { state in
                switch state {
                case .waiting(let list):
                    state = .waiting(list + [continuation])
                    return nil
                case .done(let result):
                    return result
                }
            }
            if let done { continuation.resume(with: done) }
        }
    }
}
