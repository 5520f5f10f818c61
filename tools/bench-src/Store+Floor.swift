import WavehostStore

extension Store {
    /// Commits per second of one-row transactions on this database, in a scratch table
    /// dropped after: the floor a one-commit-per-interaction design could reach, which
    /// `tools/bench engine` prints beside the engine's group-committed rate.
    func singleRowCommitsPerSecond(rows: Int) throws(StoreError) -> Double {
        try withScratchTable { commitRow throws(StoreError) in
            let clock = ContinuousClock()
            let started = clock.now
            for row in 0..<rows { try commitRow(Int64(row)) }
            let elapsed = clock.now - started
            return Double(rows) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }
}
