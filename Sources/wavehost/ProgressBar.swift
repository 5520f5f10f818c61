import Foundation
import WavehostEngine

/// A one-line progress bar on stderr: redrawn in place on a terminal, a plain line every
/// few seconds otherwise (logs, CI).
final class ProgressBar: @unchecked Sendable {
    private let title: String
    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1
    private var lastLine = ContinuousClock.now
    private var drawn = false

    init(title: String, enabled: Bool) {
        self.title = title
        self.enabled = enabled
    }

    func update(_ progress: Engine.Progress) {
        guard enabled else { return }
        if terminal {
            printError("\r\u{1B}[2K" + line(progress), terminator: "")
            drawn = true
        } else if ContinuousClock.now - lastLine >= .seconds(5) {
            printError(line(progress))
            lastLine = .now
        }
    }

    func finish(_ progress: Engine.Progress) {
        guard enabled else { return }
        clear()
        printError(line(progress))
    }

    func clear() {
        if drawn { printError("\r\u{1B}[2K", terminator: "") }
        drawn = false
    }

    private func line(_ progress: Engine.Progress) -> String {
        let finished = progress.runsCompleted + progress.runsFailed
        let total = max(progress.runsTotal, 1)
        let width = 24
        let filled = min(width, finished * width / total)
        let seconds = Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18
        let interactions = progress.interactionsCompleted + progress.interactionsFailed
        let rate = seconds > 0 ? Int((Double(interactions) / seconds).rounded()) : 0
        var text = "\(title) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
        text += "\(finished)/\(progress.runsTotal) runs"
        if progress.runsFailed > 0 { text += " (\(progress.runsFailed) failed)" }
        text += " · \(interactions) interactions"
        if progress.interactionsFailed > 0 { text += " (\(progress.interactionsFailed) failed)" }
        text += " · \(rate)/s · \(Int(seconds))s"
        return text
    }
}

func printError(_ message: String, terminator: String) {
    var standardError = StandardError()
    print(message, terminator: terminator, to: &standardError)
}
