import Metrics
import WavehostMetrics
import WavehostStore

/// What the engine records as metrics (see ``HostMetrics``): counted when durable.
extension Engine {
    /// The instruments of `start`'s variant and version, made on first use. Called under the lock.
    func instruments(for start: InteractionStart, step index: Int, _ s: inout State) -> InteractionInstruments {
        let variantID = start.variantID ?? 0
        let sha256 = start.actorSHA256 ?? ""
        let key = "\(variantID) \(sha256)"
        if let made = s.instruments[key] { return made }
        let actor = s.callCache[variantID]?.actor ?? "unknown"
        let made = InteractionInstruments(workflow: s.workflow.name, step: s.workflow.steps[index].name, variantID: variantID,
                                          actor: actor, sha256: sha256)
        s.instruments[key] = made
        return made
    }
}

/// The engine's gauges for one workflow: work queued, runs with a call under way, leases held.
struct RunGauges {
    let queueDepth: Gauge
    let runsInFlight: Gauge
    let leasesHeld: Gauge

    init(workflow: String) {
        queueDepth = Gauge(label: HostMetrics.queueDepth, dimensions: [("workflow", workflow)])
        runsInFlight = Gauge(label: HostMetrics.runsInFlight, dimensions: [("workflow", workflow)])
        leasesHeld = Gauge(label: HostMetrics.leasesHeld, dimensions: [("workflow", workflow)])
    }

    /// Reads the engine's state (under its lock).
    func record(_ state: Engine.State) {
        queueDepth.record(state.ready.reduce(0) { $0 + $1.count } + state.delayed.count)
        runsInFlight.record(Set(state.inFlight.values.map { $0.run.id }).count)
        leasesHeld.record(state.active.count)
    }
}
