import WavehostJSON

/// Which worker threads take which steps. A model call holds its thread for seconds: with one
/// set of threads for everything, a slow model starves the other steps, the model gets as many
/// requests as there are threads rather than as it has slots, and a posting's sibling steps wait
/// for a free thread instead of starting together. So each step runs in a lane with threads of
/// its own:
/// - the host lane: steps without an endpoint, `Options.concurrency` threads;
/// - one lane per model endpoint (a live variant's `config.endpoint`), `Options.endpointConcurrency`
///   threads, so the server gets as many requests at once as it has slots, whatever else runs;
/// - a step that sets `concurrency: N` has a lane of its own with N threads.
struct Lane: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case host
        case endpoint(String)
        case step(String)
    }

    let kind: Kind
    let threads: Int
    /// Indices of the workflow's steps this lane runs.
    var steps: [Int]

    /// The lanes of `workflow`'s steps: every step in exactly one.
    static func plan(_ workflow: WorkflowDefinition, hostThreads: Int, endpointThreads: Int) -> [Lane] {
        var lanes = [Lane(kind: .host, threads: hostThreads, steps: [])]
        for (index, step) in workflow.steps.enumerated() {
            let kind: Kind
            let threads: Int
            if let own = step.concurrency {
                (kind, threads) = (.step(step.name), own)
            } else if let endpoint = Self.endpoint(of: step) {
                (kind, threads) = (.endpoint(endpoint), endpointThreads)
            } else {
                (kind, threads) = (.host, hostThreads)
            }
            if let lane = lanes.firstIndex(where: { $0.kind == kind }) {
                lanes[lane].steps.append(index)
            } else {
                lanes.append(Lane(kind: kind, threads: threads, steps: [index]))
            }
        }
        return lanes.filter { !$0.steps.isEmpty }
    }

    /// The endpoint a step's calls go to: its first live variant's `config.endpoint`, without a
    /// trailing slash. Variants added later share the lane the step was given at start.
    static func endpoint(of step: WorkflowDefinition.Step) -> String? {
        guard let endpoint = lead(of: step)?.config["endpoint"]?.stringValue, !endpoint.isEmpty else { return nil }
        return endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
    }

    /// The model a step asks its endpoint for (`config.model`), "" when it names none.
    static func model(of step: WorkflowDefinition.Step) -> String {
        lead(of: step)?.config["model"]?.stringValue ?? ""
    }

    /// The variant that speaks for a step's lane: its first live one with a weight.
    private static func lead(of step: WorkflowDefinition.Step) -> WorkflowDefinition.Variant? {
        step.variants.first { $0.mode == .live && $0.weight > 0 } ?? step.variants.first
    }
}

/// A queued step of a run; `order` counts up as work is queued, across steps.
struct QueuedStep: Sendable {
    let order: UInt64
    let run: RunRef

    /// Older runs first (finishing runs under way beats starting new ones), then first queued.
    func precedes(_ other: QueuedStep) -> Bool { (run.id, order) < (other.run.id, other.order) }
}

extension Engine.State {
    /// Queues `run`'s step `index` behind the older runs' work of that step.
    mutating func enqueue(_ run: RunRef, _ index: Int) {
        queueOrder += 1
        let entry = QueuedStep(order: queueOrder, run: run)
        // Runs mostly arrive in order: look from the back.
        var position = ready[index].endIndex
        while position > ready[index].startIndex && entry.precedes(ready[index][position - 1]) { position -= 1 }
        ready[index].insert(entry, at: position)
    }

    /// The step a thread of lane `index` takes next, or nil when it should wait.
    /// In the host lane, the step the thread ran last while it has work, so an actor stays warm
    /// across subjects, else the step with the most work. In an endpoint lane, the oldest run's work,
    /// preferring the model called last, so a server that holds several models switches between
    /// them rarely; and siblings start together: work whose run has other steps queued in this
    /// lane waits until there are threads free for all of them (the idle ones take the rest at
    /// once, as the oldest work).
    func nextStep(inLane index: Int, last: Int, lastModel: String) -> Int? {
        let lane = plan.lanes[index]
        let waiting = lane.steps.filter { !ready[$0].isEmpty }
        guard !waiting.isEmpty else { return nil }
        switch lane.kind {
        case .host, .step:
            if waiting.contains(last) { return last }
            return waiting.max { ready[$0].count < ready[$1].count }
        case .endpoint:
            let sameModel = waiting.filter { plan.models[$0] == lastModel }
            guard let oldest = (sameModel.isEmpty ? waiting : sameModel).min(by: { ready[$0][0].precedes(ready[$1][0]) })
            else { return nil }
            let run = ready[oldest][0].run.key
            let siblings = lane.steps.filter { step in step != oldest && ready[step].contains { $0.run.key == run } }.count
            return min(siblings + 1, lane.threads) <= idleThreads[index] + 1 ? oldest : nil
        }
    }
}

extension Engine.Plan {
    /// The threads of the lane that runs step `index`: its variants' worker pools are this big.
    func threads(forStep index: Int, otherwise: Int) -> Int {
        lanes.first { $0.steps.contains(index) }?.threads ?? otherwise
    }

    func lane(ofStep index: Int) -> Int {
        lanes.firstIndex { $0.steps.contains(index) } ?? 0
    }

    func index(of step: String) -> Int? { workflow.steps.firstIndex { $0.name == step } }
}
