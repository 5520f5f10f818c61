import Foundation
import WavehostEngine
import WavehostJSON
import WavehostRouting
import WavehostStore

/// Everything the step page, its JSON and `wavehost report` show about one step's
/// variants, read from the store once. The verdict is `PromotionPolicy.decide` over
/// `Store.variantRecords`, with the champion chosen as `wavehost compare` chooses it.
public struct StepComparison: Sendable {
    public struct Variant: Sendable {
        public let stored: Store.StoredVariant
        /// The live record the verdict judges; nil for shadow variants.
        public let record: VariantRecord?
        /// Finished and completed interactions since the window's start (live or shadow).
        public let finished: Int
        public let completed: Int
        public var id: Int64 { stored.id }
        /// "#3 echo-c (challenger, live, weight 50)".
        public var label: String {
            "#\(stored.id) \(stored.actor) (\(stored.role.rawValue), \(stored.mode.rawValue)\(stored.mode == .live ? ", weight \(stored.weight)" : ""))"
        }
    }

    public struct Verdict: Sendable {
        public let championID: Int64
        public let challengerID: Int64
        public let verdict: PromotionPolicy.Verdict
    }

    /// One variant's finished interactions in one time bucket, with the 95 % Wilson interval.
    public struct Bucket: Sendable {
        public let variantID: Int64
        public let start: Int64
        public let finished: Int
        public let completed: Int
        public var rate: Double { finished > 0 ? Double(completed) / Double(finished) : 0 }
        public var interval: (low: Double, high: Double)? { Statistics.wilson(completed, finished) }
    }

    public struct Quality: Sendable {
        public let step: String
        public let field: [String]
        /// Scores by the variant of this step that served the graded run.
        public let scores: [Int64: [Double]]
        public var path: String { ([step] + field).joined(separator: ".") }
    }

    public let workflow: String
    public let step: String
    /// The window's start (Unix ms; 0 for everything) and when this was read.
    public let since: Int64
    public let now: Int64
    public let minimumSample: Int
    public let variants: [Variant]
    public let verdicts: [Verdict]
    /// The buckets' common width and the first one's start (Unix ms).
    public let bucketWidth: Int64
    public let bucketStart: Int64
    public let buckets: [Bucket]
    /// Latencies in ms of each variant's most recent completed interactions.
    public let latencies: [Int64: [Double]]
    public let quality: Quality?
    public let canaries: [Store.CanaryRamp]

    /// How many time buckets the success-rate plot aims for.
    static let bucketCount: Int64 = 12

    /// Reads `step` of `workflow`. `quality` names a grader step's score (STEP and the
    /// dotted field), as `wavehost compare --quality`; when nil, a step that runs after
    /// this one and answers `answer.grade` (llm-grader's output) is used if it scored any.
    /// Throws `DashboardError.notFound` when the step has no variants in this store.
    public static func load(store: Store, workflow: String, step: String, quality: (step: String, field: [String])? = nil,
                            since: Int64 = 0, policy: PromotionPolicy = PromotionPolicy()) throws -> StepComparison {
        let now = Int64(Date.now.timeIntervalSince1970 * 1000)
        let stored: [Store.StoredVariant]
        do { stored = try store.variants(workflow: workflow, step: step) } catch {
            throw DashboardError.notFound("no workflow named \(workflow) has run on this store")
        }
        guard !stored.isEmpty else { throw DashboardError.notFound("workflow \(workflow) has no step \(step) with variants") }
        let records = try store.variantRecords(workflow: workflow, step: step, since: since)

        // Twelve time buckets across the span of the finished interactions.
        var (bucketStart, bucketWidth) = (since, Int64(1000))
        var buckets: [Bucket] = []
        if let span = try store.startSpan(workflow: workflow, step: step, since: since) {
            bucketStart = span.first
            bucketWidth = max(1, (span.last - span.first) / bucketCount + 1)
            buckets = try store.outcomeBuckets(workflow: workflow, step: step, since: span.first, width: bucketWidth).map {
                Bucket(variantID: $0.variantID, start: span.first + Int64($0.index) * bucketWidth, finished: $0.finished, completed: $0.completed)
            }
        }
        var totals: [Int64: (finished: Int, completed: Int)] = [:]
        for bucket in buckets {
            totals[bucket.variantID, default: (0, 0)].finished += bucket.finished
            totals[bucket.variantID, default: (0, 0)].completed += bucket.completed
        }
        let variants = stored.filter { !$0.retired || totals[$0.id] != nil }.map { variant in
            Variant(stored: variant, record: records.first { $0.variantID == variant.id },
                    finished: totals[variant.id]?.finished ?? 0, completed: totals[variant.id]?.completed ?? 0)
        }

        let latencies = try store.latencySamples(workflow: workflow, step: step, since: since).mapValues { $0.map { Double($0) / 1000 } }
        let quality = try scores(store: store, workflow: workflow, step: step, quality: quality, since: since)

        // The same champion as `wavehost compare`, judged by the same function.
        var verdicts: [Verdict] = []
        if let champion = PromotionPolicy.champion(of: records) {
            for challenger in records where challenger.role == .challenger {
                let verdict = policy.decide(champion: champion, challenger: challenger, quality: quality.map {
                    (champion: $0.scores[champion.variantID] ?? [], challenger: $0.scores[challenger.variantID] ?? [])
                })
                verdicts.append(Verdict(championID: champion.variantID, challengerID: challenger.variantID, verdict: verdict))
            }
        }
        return StepComparison(workflow: workflow, step: step, since: since, now: now, minimumSample: policy.minimumSample,
                              variants: variants, verdicts: verdicts, bucketWidth: bucketWidth, bucketStart: bucketStart,
                              buckets: buckets, latencies: latencies, quality: quality,
                              canaries: try store.canaryRamps(workflow: workflow, step: step))
    }

    private static func scores(store: Store, workflow: String, step: String, quality: (step: String, field: [String])?,
                               since: Int64) throws -> Quality? {
        if let quality {
            let scores = try store.qualityScores(workflow: workflow, step: step, graderStep: quality.step, field: quality.field, since: since)
            return Quality(step: quality.step, field: quality.field, scores: scores)
        }
        for grader in try store.stepsAfter(workflow: workflow, step: step) {
            let scores = try store.qualityScores(workflow: workflow, step: step, graderStep: grader, field: ["answer", "grade"], since: since)
            if !scores.isEmpty { return Quality(step: grader, field: ["answer", "grade"], scores: scores) }
        }
        return nil
    }

    /// A variant's colour: the same on every plot of the page.
    func color(of id: Int64) -> String {
        let index = variants.firstIndex { $0.id == id } ?? variants.count
        return SVGPlot.palette[index % SVGPlot.palette.count]
    }

    func variant(_ id: Int64) -> Variant? { variants.first { $0.id == id } }
}

/// Why the dashboard could not answer: the status it maps to, and a message for people.
public enum DashboardError: Error, CustomStringConvertible {
    case notFound(String)
    case badRequest(String)

    public var description: String {
        switch self {
        case .notFound(let message), .badRequest(let message): message
        }
    }
}
