import Foundation
import WavehostJSON
import WavehostStore

/// Synthetic subjects for `wavehost load`: realistic variations of a few seed records
/// (the bundled postings), reproducible from a seed. Each variation changes fields the way
/// real postings differ — title level, location, remote, salary band, a longer or shorter
/// description — and carries a random submitting user; arrivals are a Poisson process at
/// the chosen rate. Pure: same seeds and seed, same subjects and arrival times.
public struct LoadGenerator: Sendable {
    public let seeds: [JSON]
    public let seed: UInt64

    static let levels = ["", "Senior ", "Junior ", "Lead ", "Staff ", "Principal "]
    static let locations = ["Berlin, Germany", "Leeds, UK", "Remote (EU)", "Lisbon, Portugal", "Austin, TX", "Toronto, Canada",
                            "Warsaw, Poland", "Singapore"]
    static let sentences = ["You will work with a small, friendly team.", "We ship every week and measure what we ship.",
                            "On-call is shared and paid.", "The role reports to the head of engineering.",
                            "Relocation support is available.", "We offer a learning budget and four weeks of leave."]

    /// `seeds` must be JSON objects (a posting each).
    public init(seeds: [JSON], seed: UInt64) {
        self.seeds = seeds
        self.seed = seed
    }

    /// The `index`-th variation, keyed `prefix-index`; the same for the same seed.
    public func subject(_ index: Int, prefix: String) -> Subject {
        var random = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let base = seeds[Int(random.next() % UInt64(seeds.count))]
        var fields: [(key: String, value: JSON)] = []
        if case .object(let members) = base { fields = members }
        func set(_ key: String, _ value: JSON) {
            if let at = fields.firstIndex(where: { $0.key == key }) { fields[at].value = value } else { fields.append((key, value)) }
        }
        let key = "\(prefix)-\(index)"
        set("external_id", .string(key))
        let title = base["title"]?.stringValue ?? "Engineer"
        set("title", .string(Self.levels[Int(random.next() % UInt64(Self.levels.count))] + title))
        if random.next() % 2 == 0 { set("location", .string(Self.locations[Int(random.next() % UInt64(Self.locations.count))])) }
        set("remote", .bool(random.next() % 3 == 0))
        let scale = 0.8 + Double(random.next() % 450) / 1000
        for field in ["salary_min", "salary_max"] {
            if let salary = base[field]?.intValue { set(field, .integer(Int((Double(salary) * scale / 500).rounded()) * 500)) }
        }
        let extra = Int(random.next() % 5)
        let description = ([base["description"]?.stringValue ?? ""]
            + (0..<extra).map { _ in Self.sentences[Int(random.next() % UInt64(Self.sentences.count))] }).joined(separator: " ")
        set("description", .string(description))
        set("submitted_by", .string("user-\(random.next() % 500)"))
        return Subject(key: key, payload: .object(fields))
    }

    /// When each subject arrives, in seconds from the start, at `rate` per second on
    /// average (exponential gaps); all at 0 without a rate (as fast as possible).
    public func arrivals(_ count: Int, rate: Double?) -> [Double] {
        guard let rate, rate > 0 else { return Array(repeating: 0, count: count) }
        var random = SplitMix64(seed: seed ^ 0xA5A5_A5A5_A5A5_A5A5)
        var time = 0.0
        return (0..<count).map { _ in
            let uniform = (Double(random.next() >> 11) + 1) / Double(1 << 53)  // in (0, 1]
            time += -log(uniform) / rate
            return time
        }
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
