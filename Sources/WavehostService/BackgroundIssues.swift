import Foundation
import Logging
import Synchronization
import WavehostDashboard

/// The recent errors of the service's background tasks (subject loading, an engine pass,
/// a canary tick, a reload rejection, the watcher): each is logged with its cause when it
/// happens and kept here, newest last, for the dashboard. Bounded: the oldest go first.
public final class BackgroundIssues: Sendable {
    public let capacity: Int
    private let issues = Mutex<[BackgroundIssue]>([])
    private let logger = Logger(label: "wavehost.service")

    public init(capacity: Int = 200) {
        self.capacity = capacity
    }

    /// Logs `message` as an error of `task` and keeps it; the same error again right after
    /// counts as a repeat of the newest entry, so one error every pass cannot push out the rest.
    public func report(_ task: String, _ message: String) {
        logger.error("\(message)", metadata: ["task": "\(task)"])
        let issue = BackgroundIssue(time: Date(), task: task, message: message)
        issues.withLock { list in
            if let last = list.last, last.task == task, last.message == message {
                list[list.count - 1].time = issue.time
                list[list.count - 1].repeats += 1
                return
            }
            list.append(issue)
            if list.count > capacity { list.removeFirst(list.count - capacity) }
        }
    }

    /// The issues kept, oldest first.
    public var recent: [BackgroundIssue] { issues.withLock { $0 } }
}
