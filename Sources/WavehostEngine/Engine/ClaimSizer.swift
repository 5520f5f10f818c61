/// How many runs a host should hold: what it can run soon. It starts at `minimum` (a few
/// per worker thread) and follows the host's rate of finished runs over the last second:
/// what it finishes in a quarter second (`horizon`), up to `maximum`. A fast host holds
/// enough to keep its threads busy between commits (a run takes a few commits, far less
/// than the horizon, so the target grows until it stops paying), a slow one no more than
/// it will finish soon, so hosts sharing a workflow split it — and a dead host's runs —
/// instead of the first to claim taking it all. Pure: no I/O, no clock of its own.
struct ClaimSizer {
    let minimum: Int
    let maximum: Int
    /// A fixed size (`maximum`), as an operator's `--runs-in-flight` asks.
    let fixed: Bool
    private var samples: [(at: ContinuousClock.Instant, finished: Int)] = []
    static let window = Duration.seconds(1)
    static let horizon = 0.25

    init(minimum: Int, maximum: Int, fixed: Bool = false) {
        self.maximum = max(1, maximum)
        self.minimum = min(max(1, minimum), self.maximum)
        self.fixed = fixed
    }

    /// The runs to hold now, given the host's count of finished runs so far.
    mutating func target(at now: ContinuousClock.Instant, finished: Int) -> Int {
        if fixed { return maximum }
        samples.append((now, finished))
        while samples.count > 2, now - samples[1].at >= Self.window { samples.removeFirst() }
        guard let first = samples.first, now - first.at >= .milliseconds(50) else { return minimum }
        // Finished per second over the window (extrapolated while it is younger than a second).
        let span = now - first.at
        let seconds = Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18
        let perSecond = Double(finished - first.finished) / seconds
        return min(maximum, max(minimum, Int((perSecond * Self.horizon).rounded(.up))))
    }
}
