import Metrics
import WavehostMetrics
import WavehostStore

/// The counters and latency histogram of one (step, variant, actor version), made once.
struct InteractionInstruments {
    let completed: Counter
    let failed: Counter
    let timedOut: Counter
    let latency: Metrics.Timer

    init(workflow: String, step: String, variantID: Int64, actor: String, sha256: String) {
        func counter(_ status: String) -> Counter {
            Counter(label: HostMetrics.interactions, dimensions: [
                ("workflow", workflow), ("step", step), ("variant", String(variantID)), ("actor", actor),
                ("actor_sha256", HostMetrics.hashLabel(sha256)), ("status", status),
            ])
        }
        completed = counter(InteractionStatus.completed.rawValue)
        failed = counter(InteractionStatus.failed.rawValue)
        timedOut = counter(InteractionStatus.timedOut.rawValue)
        latency = Metrics.Timer(label: HostMetrics.interactionDuration, dimensions: [
            ("workflow", workflow), ("step", step), ("variant", String(variantID)),
        ])
    }

    /// Counts one durable end with the status the store holds for it.
    func record(_ status: InteractionStatus, latencyMicroseconds: Int64) {
        switch status {
        case .completed: completed.increment()
        case .timedOut: timedOut.increment()
        case .failed, .pending, .running: failed.increment()
        }
        latency.recordMicroseconds(latencyMicroseconds)
    }
}
