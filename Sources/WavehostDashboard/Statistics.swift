import Foundation

/// The statistics the plots draw (the verdict itself is `PromotionPolicy.decide`'s).
enum Statistics {
    /// The Wilson score interval for `successes` of `count` at 95 % (z = 1.96): unlike
    /// p ± z·√(p(1−p)/n), it stays inside [0, 1] and is honest for small buckets and
    /// rates near 0 or 1. Nil for an empty bucket.
    static func wilson(_ successes: Int, _ count: Int, z: Double = 1.959964) -> (low: Double, high: Double)? {
        guard count > 0 else { return nil }
        let n = Double(count), p = Double(successes) / n, z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        return (max(0, centre - half), min(1, centre + half))
    }

    /// The empirical CDF of `values` as the points of a step function: (value, share ≤ it),
    /// thinned to at most `points` steps so a page stays small.
    static func ecdf(_ values: [Double], points: Int = 200) -> [(x: Double, y: Double)] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        let n = Double(sorted.count)
        let stride = max(1, sorted.count / points)
        var result: [(x: Double, y: Double)] = [(sorted[0], 0)]
        var index = stride - 1
        while index < sorted.count {
            result.append((sorted[index], Double(index + 1) / n))
            index += stride
        }
        if result.last?.y != 1 { result.append((sorted[sorted.count - 1], 1)) }
        return result
    }

    /// Bin edges for scores: one bin per value when the scores are a few whole numbers
    /// (grades 1–5), else ten equal bins across their range.
    static func scoreBins(_ all: [Double]) -> [(low: Double, high: Double)] {
        guard let low = all.min(), let high = all.max() else { return [] }
        let distinct = Set(all)
        if distinct.count <= 12 && all.allSatisfy({ $0 == $0.rounded() }) && high - low <= 20 {
            return stride(from: low, through: high, by: 1).map { ($0 - 0.5, $0 + 0.5) }
        }
        guard high > low else { return [(low - 0.5, high + 0.5)] }
        let width = (high - low) / 10
        return (0..<10).map { (low + Double($0) * width, low + Double($0 + 1) * width) }
    }

    /// The share of `values` in each bin (the last bin includes its upper edge).
    static func shares(_ values: [Double], in bins: [(low: Double, high: Double)]) -> [Double] {
        guard !values.isEmpty else { return bins.map { _ in 0 } }
        var counts = [Int](repeating: 0, count: bins.count)
        for value in values {
            if let index = bins.firstIndex(where: { value >= $0.low && value < $0.high })
                ?? (value == bins.last?.high ? bins.count - 1 : nil) {
                counts[index] += 1
            }
        }
        return counts.map { Double($0) / Double(values.count) }
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
