import Foundation

/// A small plot drawn as inline SVG: two axes with ticks, and series made of lines, step
/// lines, confidence bands, points and bars. Each series is one
/// `<g class="series" data-variant="KEY">`, so a test (or a person's devtools) can count
/// and tell series apart. All text goes through `HTML.escape`.
struct SVGPlot {
    struct Axis {
        var label: String
        var range: ClosedRange<Double>
        /// Base-10 logarithmic (for latencies that span decades); the range must be positive.
        var log = false
        var format: @Sendable (Double) -> String = { SVGPlot.plain($0) }
        /// Where ticks go; "nice" values when nil.
        var ticks: [Double]?
    }

    struct Series {
        /// The stable marker: `data-variant`.
        var key: String
        var label: String
        var color: String
        var line: [(x: Double, y: Double)] = []
        /// Draw `line` as a step function (an ECDF): across, then up.
        var stepped = false
        /// Draw `line` dashed (a plan rather than a measurement).
        var dashed = false
        var band: [(x: Double, low: Double, high: Double)] = []
        var points: [(x: Double, y: Double)] = []
        var bars: [(x0: Double, x1: Double, y: Double)] = []
        var isEmpty: Bool { line.isEmpty && band.isEmpty && points.isEmpty && bars.isEmpty }
    }

    var title: String
    var x: Axis
    var y: Axis
    var series: [Series]
    var width = 560.0
    var height = 300.0
    /// Said in the plot area when no series has data.
    var emptyText = "no data yet"

    private let left = 58.0, right = 18.0, top = 30.0, bottom = 66.0

    private var plotWidth: Double { width - left - right }
    private var plotHeight: Double { height - top - bottom }

    func render() -> String {
        var svg = "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        svg += "<title>\(HTML.escape(title))</title>"
        svg += "<text class=\"title\" x=\"\(left)\" y=\"18\">\(HTML.escape(title))</text>"
        svg += axes()
        if series.allSatisfy(\.isEmpty) {
            svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\">\(HTML.escape(emptyText))</text>"
        }
        for item in series { svg += draw(item) }
        svg += legend()
        return svg + "</svg>"
    }

    // MARK: - Scales

    private func position(_ value: Double, _ axis: Axis) -> Double {
        func t(_ v: Double) -> Double { axis.log ? log10(max(v, 1e-12)) : v }
        let (low, high) = (t(axis.range.lowerBound), t(axis.range.upperBound))
        let span = high - low
        return span > 0 ? (t(value) - low) / span : 0.5
    }

    private func px(_ value: Double) -> Double {
        left + min(max(position(value, x), 0), 1) * plotWidth
    }

    private func py(_ value: Double) -> Double {
        top + plotHeight - min(max(position(value, y), 0), 1) * plotHeight
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    // MARK: - Parts

    private func axes() -> String {
        var svg = "<g class=\"axes\" stroke=\"#9aa5b1\" stroke-width=\"1\">"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\"/>"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\"/></g>"
        svg += "<g class=\"ticks\">"
        for tick in x.ticks ?? Self.ticks(x) {
            let at = px(tick)
            svg += "<line x1=\"\(f(at))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(at))\" y2=\"\(f(top + plotHeight + 4))\" stroke=\"#9aa5b1\"/>"
            svg += "<text x=\"\(f(at))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(HTML.escape(x.format(tick)))</text>"
        }
        for tick in y.ticks ?? Self.ticks(y) {
            let at = py(tick)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(at))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(at))\" stroke=\"#e4e7eb\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(at + 4))\" text-anchor=\"end\">\(HTML.escape(y.format(tick)))</text>"
        }
        svg += "</g>"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 32))\" text-anchor=\"middle\">\(HTML.escape(x.label))</text>"
        svg += "<text transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(y.label))</text>"
        return svg
    }

    private func draw(_ item: Series) -> String {
        var svg = "<g class=\"series\" data-variant=\"\(HTML.escape(item.key))\">"
        if item.band.count == 1, let only = item.band.first {
            // One bucket: the interval as an error bar, since a band needs two points.
            svg += "<line class=\"band\" x1=\"\(f(px(only.x)))\" y1=\"\(f(py(only.low)))\" x2=\"\(f(px(only.x)))\" y2=\"\(f(py(only.high)))\" stroke=\"\(item.color)\" stroke-opacity=\"0.35\" stroke-width=\"8\"/>"
        } else if !item.band.isEmpty {
            let upper = item.band.map { "\(f(px($0.x))),\(f(py($0.high)))" }
            let lower = item.band.reversed().map { "\(f(px($0.x))),\(f(py($0.low)))" }
            svg += "<path class=\"band\" d=\"M\((upper + lower).joined(separator: " L"))Z\" fill=\"\(item.color)\" fill-opacity=\"0.16\" stroke=\"none\"/>"
        }
        for bar in item.bars {
            let (x0, x1) = (px(bar.x0), px(bar.x1))
            let y0 = py(max(bar.y, y.range.lowerBound)), base = py(y.range.lowerBound)
            svg += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(max(x1 - x0, 1)))\" height=\"\(f(max(base - y0, 0)))\" fill=\"\(item.color)\" fill-opacity=\"0.8\"/>"
        }
        if let first = item.line.first {
            var d = "M\(f(px(first.x))),\(f(py(first.y)))"
            for point in item.line.dropFirst() {
                d += item.stepped ? " H\(f(px(point.x))) V\(f(py(point.y)))" : " L\(f(px(point.x))),\(f(py(point.y)))"
            }
            svg += "<path class=\"line\" d=\"\(d)\" fill=\"none\" stroke=\"\(item.color)\" stroke-width=\"2\" stroke-linejoin=\"round\"\(item.dashed ? " stroke-dasharray=\"5 4\"" : "")/>"
        }
        for point in item.points {
            svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"2.8\" fill=\"\(item.color)\"/>"
        }
        return svg + "</g>"
    }

    /// Swatches and labels in rows under the x axis label.
    private func legend() -> String {
        var svg = "<g class=\"legend\">"
        var (cursor, row) = (left, 0.0)
        for item in series {
            let label = item.label.count > 48 ? String(item.label.prefix(47)) + "…" : item.label
            let widthOfEntry = 22 + Double(label.count) * 6.2
            if cursor + widthOfEntry > width - right && cursor > left { (cursor, row) = (left, row + 15) }
            let baseline = top + plotHeight + 48 + row
            svg += "<rect x=\"\(f(cursor))\" y=\"\(f(baseline - 9))\" width=\"10\" height=\"10\" rx=\"2\" fill=\"\(item.color)\"/>"
            svg += "<text x=\"\(f(cursor + 14))\" y=\"\(f(baseline))\">\(HTML.escape(label))</text>"
            cursor += widthOfEntry + 12
        }
        return svg + "</g>"
    }

    // MARK: - Ticks

    /// About five round values (1, 2 or 5 × 10ⁿ apart) inside the axis's range; powers of
    /// ten on a log axis.
    static func ticks(_ axis: Axis) -> [Double] {
        let (low, high) = (axis.range.lowerBound, axis.range.upperBound)
        guard high > low else { return [low] }
        if axis.log {
            let first = Int(floor(log10(max(low, 1e-12)))), last = Int(ceil(log10(max(high, 1e-12))))
            var values: [Double] = []
            for power in first...max(first, last) {
                for multiple in (last - first <= 2 ? [1.0, 2, 5] : [1.0]) {
                    let value = multiple * pow(10, Double(power))
                    if value >= low * 0.999 && value <= high * 1.001 { values.append(value) }
                }
            }
            return values
        }
        let rough = (high - low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? rough
        var values: [Double] = []
        var value = ceil(low / step - 1e-9) * step
        while value <= high + step * 1e-9 {
            values.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return values
    }

    /// A tick label without needless decimals: 0.5, 2, 1.5k.
    static func plain(_ value: Double) -> String {
        if abs(value) >= 10_000 { return String(format: "%gk", (value / 1000 * 10).rounded() / 10) }
        if value == value.rounded() { return String(Int64(value)) }
        return String(format: "%g", (value * 1000).rounded() / 1000)
    }

    /// Series colours: the champion first, then challengers, distinct in print and for
    /// the common colour-vision deficiencies (Okabe–Ito).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
}
