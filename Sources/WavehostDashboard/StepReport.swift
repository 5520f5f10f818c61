import WavehostEngine
import WavehostRouting
import WavehostStore

/// The step comparison as one self-contained HTML file (`wavehost report`): inline CSS
/// and SVG, no script, no link out, and a CSP that forbids fetching anything.
public enum StepReport {
    public static func html(store: Store, workflow: String, step: String, quality: (step: String, field: [String])? = nil,
                            since: Int64 = 0, policy: PromotionPolicy = PromotionPolicy()) throws -> String {
        StepPage.render(try StepComparison.load(store: store, workflow: workflow, step: step, quality: quality, since: since, policy: policy),
                        frame: .report)
    }
}
