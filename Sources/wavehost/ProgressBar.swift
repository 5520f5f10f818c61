import Foundation
import Synchronization
import WavehostEngine

/// A one-line progress bar on stderr: redrawn in place on a terminal, a plain line every
/// few seconds otherwise (logs, CI).
final class ProgressBar: Sendable {
    private let title: String
    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1
    /// When the last plain line was printed, and whether a line is drawn in place.
    private let state = Mutex<(lastLine: ContinuousClock.Instant, drawn: Bool)>((.now, false))

    init(title: String, enabled: Bool) {
        self.title = title
        self.enabled = enabled
    }

    func update(_ progress: Engine.Progress) {
        guard enabled else { return }
        state.withLock { state in
            if terminal {
                printError("\r\u{1B}[2K" + line(progress), terminator: "")
                state.drawn = true
            } else if ContinuousClock.now - state.lastLine >= .seconds(5) {
                printError(line(progress))
                state.lastLine = .now
            }
        }
    }

    func finish(_ progress: Engine.Progress) {
        guard enabled else { return }
        clear()
        printError(line(progress))
    }

    func clear() {
        state.withLock { state in
            if state.drawn { printError("\r\u{1B}[2K", terminator: "") }
            state.drawn = false
        }
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
