// PLACEHOLDER: the agreed interface of the dashboard module, answering 404 to everything.
// The real module (the dashboard branch) replaces this file at merge; keep it to this file.
import Foundation
import Host

public struct DashboardRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Lowercased names.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: [String: String], headers: [String: String], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

public struct DashboardResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(String, String)]
    public var body: [UInt8]
}

public struct BackgroundIssue: Sendable {
    public var time: Date
    public var task: String
    public var message: String

    public init(time: Date, task: String, message: String) {
        self.time = time
        self.task = task
        self.message = message
    }
}

public final class Dashboard: Sendable {
    public init(store: Store, token: String, backgroundIssues: @escaping @Sendable () -> [BackgroundIssue]) {}

    public func respond(_ request: DashboardRequest) -> DashboardResponse {
        DashboardResponse(status: 404, contentType: "text/plain; charset=utf-8", headers: [],
                          body: Array("not found: \(request.path) (the dashboard is not part of this build)\n".utf8))
    }
}
