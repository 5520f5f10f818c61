import Foundation
import WavehostEngine

/// The champion/challenger comparison of one step: the verdict with its numbers, the
/// variants' records, and plots of success over time, latency, quality and the canary.
/// The same page is `GET /steps/W/S` and the file `wavehost report` writes.
enum StepPage {
    static func render(_ data: StepComparison, frame: HTML.Frame) -> String {
        var body = "<h1>\(HTML.escape(data.workflow)) / \(HTML.escape(data.step))</h1>"
        let window = data.since > 0 ? "interactions started since \(Format.time(data.since))" : "all interactions"
        body += "<p class=\"sub\">Champion against challengers: \(window); read \(Format.time(data.now)). "
            + "The policy decides after \(data.minimumSample) finished interactions each.</p>"
        body += verdicts(data)
        body += variantTable(data)
        body += "<div class=\"grid\">"
        body += "<section>\(successPlot(data).render())<p class=\"none\">Per time bucket of \(Format.span(data.bucketWidth)): "
            + "the share of finished interactions that completed; the band is the 95% Wilson interval.</p></section>"
        body += "<section>\(latencyPlot(data).render())<p class=\"none\">Empirical CDF of completed interactions' latency "
            + "(the most recent 5000 per variant).</p></section>"
        if let quality = data.quality {
            body += "<section>\(qualityPlot(data, quality).render())<p class=\"none\">Scores at <code>\(HTML.escape(quality.path))</code> "
                + "of the runs each variant served.</p></section>"
        }
        if !data.canaries.isEmpty {
            body += "<section>\(canaryPlot(data).render())\(canaryTable(data))</section>"
        }
        body += "</div>"
        return HTML.page(title: "\(data.workflow) / \(data.step) — Wavehost", frame: frame, body: body)
    }

    // MARK: - Tables

    private static func verdicts(_ data: StepComparison) -> String {
        var html = "<section><h2>Verdict</h2>"
        if data.verdicts.isEmpty {
            html += "<p class=\"none\">No verdict: the step needs a live champion and a live challenger.</p>"
        }
        for item in data.verdicts {
            let decision = item.verdict.decision.rawValue
            let champion = data.variant(item.championID), challenger = data.variant(item.challengerID)
            html += "<p><span class=\"pill \(decision.replacingOccurrences(of: " ", with: "-"))\">\(HTML.escape(decision))</span> "
                + "variant <b>\(HTML.escape(challenger?.label ?? "#\(item.challengerID)"))</b> against champion "
                + "<b>\(HTML.escape(champion?.label ?? "#\(item.championID)"))</b></p>"
            html += "<p>\(HTML.escape(item.verdict.reason))</p>"
            html += HTML.cards([
                (Format.number(item.verdict.z), "z (two-proportion)"), (Format.pValue(item.verdict.pValue), "p, two-sided"),
                (Format.percent(challenger?.record?.successRate), "challenger success"),
                (Format.percent(champion?.record?.successRate), "champion success"),
                ("\(challenger?.record?.finished ?? 0) / \(champion?.record?.finished ?? 0)", "finished (challenger / champion)"),
            ])
        }
        return html + "</section>"
    }

    private static func variantTable(_ data: StepComparison) -> String {
        let rows = data.variants.map { variant -> [String] in
            let interval = Statistics.wilson(variant.completed, variant.finished)
            let scores = data.quality?.scores[variant.id] ?? []
            let configText = variant.stored.config.text
            let config = configText.count > 120 ? String(configText.prefix(119)) + "…" : configText
            return [
                "<span class=\"swatch\" style=\"background:\(data.color(of: variant.id))\"></span>#\(variant.id)",
                HTML.escape(variant.stored.actor), HTML.escape(variant.stored.role.rawValue), HTML.escape(variant.stored.mode.rawValue),
                "\(variant.stored.weight)", "<code>\(HTML.escape(config))</code>", "\(variant.finished)",
                Format.percent(variant.finished > 0 ? Double(variant.completed) / Double(variant.finished) : nil),
                interval.map { "\(Format.percent($0.low)) – \(Format.percent($0.high))" } ?? "–",
                Format.milliseconds(variant.record?.p50Milliseconds), Format.milliseconds(variant.record?.p95Milliseconds),
                scores.isEmpty ? "–" : "\(Format.number(Statistics.mean(scores))) (n \(scores.count))",
            ]
        }
        return "<section><h2>Variants</h2>" + HTML.table(
            ["variant", "actor", "role", "mode", "weight", "config", "finished", "success", "95% interval", "p50", "p95", "quality"],
            rows, numeric: [4, 6, 7, 8, 9, 10, 11], empty: "no variants") + "</section>"
    }

    private static func canaryTable(_ data: StepComparison) -> String {
        HTML.table(["canary", "variant", "schedule", "stage", "state", "stage started"], data.canaries.map { canary in
            ["\(canary.id)", "#\(canary.variantID)", canary.schedule.map { "\($0)%" }.joined(separator: " → "),
             canary.schedule.indices.contains(canary.stage) ? "\(canary.schedule[canary.stage])%" : "–",
             HTML.escape(canary.state.replacingOccurrences(of: "_", with: " ")), Format.ago(canary.stageStartedAt, data.now)]
        })
    }

    // MARK: - Plots

    /// Success rate per time bucket with its Wilson band, one series per variant.
    static func successPlot(_ data: StepComparison) -> SVGPlot {
        let lastIndex = data.buckets.map { ($0.start - data.bucketStart) / data.bucketWidth }.max() ?? 0
        let spanMilliseconds = Double((lastIndex + 1) * data.bucketWidth)
        let (unit, name): (Double, String) = spanMilliseconds < 2000 ? (1, "ms") : spanMilliseconds < 180_000 ? (1000, "s")
            : spanMilliseconds < 10_800_000 ? (60_000, "min") : (3_600_000, "h")
        let series = data.variants.map { variant in
            var item = SVGPlot.Series(key: "\(variant.id)", label: variant.label, color: data.color(of: variant.id))
            for bucket in data.buckets where bucket.variantID == variant.id {
                let x = (Double(bucket.start - data.bucketStart) + Double(data.bucketWidth) / 2) / unit
                item.line.append((x, bucket.rate * 100))
                item.points.append((x, bucket.rate * 100))
                if let interval = bucket.interval { item.band.append((x, interval.low * 100, interval.high * 100)) }
            }
            return item
        }
        return SVGPlot(title: "Success rate over time",
                       x: .init(label: "time since \(Format.time(data.bucketStart)) (\(name))", range: 0...max(spanMilliseconds / unit, 1e-9)),
                       y: .init(label: "success (%)", range: 0...100, format: { "\(Int($0))%" }),
                       series: series, emptyText: "no finished interactions yet")
    }

    /// The latency ECDF per variant; a log axis when the latencies span decades.
    static func latencyPlot(_ data: StepComparison) -> SVGPlot {
        let all = data.latencies.values.joined()
        let low = max(all.min() ?? 0.001, 0.001), high = max(all.max() ?? 1, low * 1.01)
        let log = high / low > 50
        let series = data.variants.map { variant in
            var item = SVGPlot.Series(key: "\(variant.id)", label: variant.label, color: data.color(of: variant.id))
            item.line = Statistics.ecdf(data.latencies[variant.id] ?? [])
            item.stepped = true
            return item
        }
        return SVGPlot(title: "Latency distribution (ECDF)",
                       x: .init(label: "latency (ms)\(log ? ", log scale" : "")", range: (log ? low : 0)...high, log: log),
                       y: .init(label: "share at or below", range: 0...1, format: { "\(Int(($0 * 100).rounded()))%" }),
                       series: series, emptyText: "no completed interactions yet")
    }

    /// The grader's scores per variant: side-by-side bars, each variant's shares summing to 100 %.
    static func qualityPlot(_ data: StepComparison, _ quality: StepComparison.Quality) -> SVGPlot {
        let bins = Statistics.scoreBins(Array(quality.scores.values.joined()))
        let scored = data.variants.filter { !(quality.scores[$0.id] ?? []).isEmpty }
        var highest = 0.0
        let series = scored.enumerated().map { position, variant in
            var item = SVGPlot.Series(key: "\(variant.id)", label: variant.label, color: data.color(of: variant.id))
            let shares = Statistics.shares(quality.scores[variant.id] ?? [], in: bins)
            for (bin, share) in zip(bins, shares) {
                let width = (bin.high - bin.low) * 0.8 / Double(scored.count)
                let x0 = bin.low + (bin.high - bin.low) * 0.1 + Double(position) * width
                item.bars.append((x0, x0 + width, share * 100))
                highest = max(highest, share * 100)
            }
            return item
        }
        let range = (bins.first?.low ?? 0)...(bins.last?.high ?? 1)
        let wholeBins = bins.count > 0 && bins.allSatisfy { $0.high - $0.low == 1 }
        return SVGPlot(title: "Quality scores (\(quality.path))",
                       x: .init(label: "score", range: range, ticks: wholeBins ? bins.map { ($0.low + $0.high) / 2 } : nil),
                       y: .init(label: "share of the variant's scores (%)", range: 0...max(10, (highest / 10).rounded(.up) * 10),
                                format: { "\(Int($0))%" }),
                       series: series, emptyText: "no scores yet")
    }

    /// Each canary's schedule as a line and the stages it reached as bars.
    static func canaryPlot(_ data: StepComparison) -> SVGPlot {
        let stages = data.canaries.map(\.schedule.count).max() ?? 1
        let series = data.canaries.map { canary in
            var item = SVGPlot.Series(key: "\(canary.variantID)", label: "canary \(canary.id): variant #\(canary.variantID), \(canary.state.replacingOccurrences(of: "_", with: " "))",
                                      color: data.color(of: canary.variantID))
            item.dashed = true
            for (index, percent) in canary.schedule.enumerated() {
                item.line.append((Double(index + 1), Double(percent)))
                if index <= canary.stage {
                    // A rolled-back ramp's last stage shows where it stopped, as a sliver.
                    let height = canary.state == "rolled_back" && index == canary.stage ? 1.5 : Double(percent)
                    item.bars.append((Double(index + 1) - 0.3, Double(index + 1) + 0.3, height))
                }
            }
            return item
        }
        return SVGPlot(title: "Canary stages (bars: reached; line: the schedule)",
                       x: .init(label: "stage", range: 0.4...(Double(stages) + 0.6), format: { "\(Int($0))" },
                                ticks: (1...max(stages, 1)).map(Double.init)),
                       y: .init(label: "challenger share (%)", range: 0...100, format: { "\(Int($0))%" }),
                       series: series)
    }
}
