import ArgumentParser
import Foundation
import WavehostEngine
import WavehostStore

/// `wavehost plugins list`: each actor's current hash, the ones before it, and those refused.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show each actor's current version, its previous ones, and rejected or pending versions, from the store.")

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    func run() throws {
        let store = try openStore(database)
        let versions = try store.actorVersions()
        guard !versions.isEmpty else {
            print("no actor versions recorded yet (they are recorded when a workflow runs)")
            return
        }
        for (actor, rows) in Dictionary(grouping: versions, by: \.actor).sorted(by: { $0.key < $1.key }) {
            print(actor)
            for state in ["current", "pending", "previous", "rejected"] {
                for row in rows where row.state == state {
                    let approved = row.approved ? "  approved" : ""
                    let reason = row.reason.map { "  — \($0)" } ?? ""
                    print("  \(state.padding(toLength: 9, withPad: " ", startingAt: 0)) \(row.sha256)  \(row.version)  \(row.path)\(approved)\(reason)")
                }
            }
        }
    }
}

/// `wavehost plugins approve HASH`: production pinning's allowlist.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve an actor file's SHA-256 for production workflows.",
        discussion: """
            Once any hash is approved (here or in a workflow's approved_hashes), production \
            workflows run only approved versions: an unapproved file is not loaded, and a \
            running host rejects it when it appears. `wavehost plugins inspect FILE` shows a file's hash.
            """)

    @Argument(help: "The SHA-256 (64 hex digits).")
    var sha256: String

    @Option(help: "Why, or who approved it.")
    var note: String?

    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    func validate() throws {
        guard sha256.count == 64, sha256.allSatisfy(\.isHexDigit) else { throw ValidationError("\(sha256) is not a SHA-256: 64 hex digits") }
    }

    func run() throws {
        try openStore(database).approve(sha256.lowercased(), note: note)
        print("approved \(sha256.lowercased())")
    }
}

/// Opens the store for a command that reads it; a missing SQLite file is an error, not a new database.
func openStore(_ option: String?) throws -> Store {
    let location = Store.defaultLocation(option)
    if !location.hasPrefix("postgres"), !FileManager.default.fileExists(atPath: location) {
        printError("error: no database at \(location) (run a workflow first, or pass --database)")
        throw ExitStatus.storeError
    }
    do { return try Store(location: location) } catch {
        printError("error: \(error)")
        throw ExitStatus.storeError
    }
}
