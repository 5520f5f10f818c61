/// The names of every metric the host records, in one place (Prometheus conventions:
/// `_total` counters, `_seconds` durations). Labels hold bounded values only: workflow,
/// step, variant id, actor name, a 12-hex prefix of an actor hash — never a subject.
///
/// Instruments go through swift-metrics: with no backend bootstrapped they do nothing
/// (`wavehost run`, the tests); `serve` bootstraps Prometheus. They are made when the
/// object that records them is made, never in a `static let`, which would be fixed to
/// whatever backend (none) existed when it was first touched.
public enum HostMetrics {
    public static let interactions = "wavehost_interactions_total"
    public static let interactionDuration = "wavehost_interaction_duration_seconds"
    public static let queueDepth = "wavehost_queue_depth"
    public static let runsInFlight = "wavehost_runs_in_flight"
    public static let leasesHeld = "wavehost_leases_held"
    public static let workerProcesses = "wavehost_worker_processes"
    public static let workerStarts = "wavehost_worker_starts_total"
    public static let workerKills = "wavehost_worker_kills_total"
    public static let workerTimeouts = "wavehost_worker_timeouts_total"
    public static let workerCrashes = "wavehost_worker_crashes_total"
    /// In-process calls the watchdog left running past their deadline.
    public static let abandonedCalls = "wavehost_inprocess_abandoned_calls_total"
    public static let reloadSwaps = "wavehost_reload_swaps_total"
    public static let reloadRejections = "wavehost_reload_rejections_total"
    public static let canaryTrafficRatio = "wavehost_canary_traffic_ratio"
    public static let journalCommitRecords = "wavehost_journal_commit_records"
    public static let journalCommitDuration = "wavehost_journal_commit_duration_seconds"

    /// The hash prefix used as a label: enough to tell versions apart, bounded in length.
    public static func hashLabel(_ sha256: String) -> String { String(sha256.prefix(12)) }
}
