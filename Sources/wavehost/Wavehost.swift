import ArgumentParser
import WavehostSandbox

@main
struct Wavehost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wavehost",
        abstract: "Loads actors (plugins behind a stable C ABI) and runs them.",
        discussion: "Exit status, for every command (each command's help says which it uses):\n" + ExitStatus.table,
        subcommands: [RunCommand.self, ServeCommand.self, LoadCommand.self, StatusCommand.self, CompareCommand.self, ReportCommand.self, PromoteCommand.self, CanaryCommand.self, VariantsCommand.self, TablesCommand.self, BackfillCommand.self, AgentsCommand.self, PluginsCommand.self, InvokeCommand.self, NewCommand.self, DoctorCommand.self]
    )

    /// ArgumentParser's own main, but a usage error (a missing or invalid option) exits with
    /// this table's "bad input" (2) instead of its EX_USAGE (64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            // Secrets for the HTTP host service, from a file the operator names (docs/sandbox.md).
            do { try HostSecrets.loadFromEnvironment() } catch {
                printError("error: $WAVEHOST_SECRETS_FILE: \(error)")
                exit(withError: ExitStatus.badInput)
            }
            if var command = command as? any AsyncParsableCommand { try await command.run() } else { try command.run() }
        } catch {
            guard exitCode(for: error).rawValue == 64 else { exit(withError: error) }
            printError(fullMessage(for: error))
            exit(withError: ExitStatus.badInput)
        }
    }
}

/// Exit statuses, one table for every subcommand: thrown by name, printed in `--help`.
enum ExitStatus {
    static let actorFailed = ExitCode(1)
    static let badInput = ExitCode(2)
    static let pluginError = ExitCode(3)
    static let checkFailed = ExitCode(4)
    static let runsFailed = ExitCode(5)
    static let storeError = ExitCode(6)
    static let cannotListen = ExitCode(7)
    static let finishedElsewhere = ExitCode(8)

    static let meanings: [(ExitCode, String)] = [
        (.success, "success (for run: every run completed, all on this host)"),
        (actorFailed, "an actor refused or failed, or a file could not be written"),
        (badInput, "bad input: a workflow file, a missing or invalid option, an unknown name"),
        (pluginError, "a plugin could not be loaded or created"),
        (checkFailed, "a check failed (plugins check)"),
        (runsFailed, "run: some runs failed (the status printed says which and why)"),
        (storeError, "the database is missing, or it failed"),
        (cannotListen, "serve cannot listen on its --http address"),
        (finishedElsewhere, "run: every run completed, and other hosts finished some of them"),
    ]

    static var table: String {
        meanings.map { "  \($0.0.rawValue)  \($0.1)" }.joined(separator: "\n")
    }
}
