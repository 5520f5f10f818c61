import ArgumentParser

@main
struct Wavehost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wavehost",
        abstract: "Loads actors (plugins behind a stable C ABI) and runs them.",
        discussion: """
            Exit status: 0 on success, 1 when an actor refused or failed, \
            3 when a plugin could not be loaded or created, 4 when a check failed, \
            7 when serve cannot listen on its --http address.
            """,
        subcommands: [RunCommand.self, ServeCommand.self, LoadCommand.self, StatusCommand.self, CompareCommand.self, ReportCommand.self, PromoteCommand.self, CanaryCommand.self, VariantsCommand.self, PluginsCommand.self, InvokeCommand.self, DoctorCommand.self]
    )
}

/// Exit statuses shared by every subcommand.
enum ExitStatus {
    static let actorFailed = ExitCode(1)
    static let pluginError = ExitCode(3)
    static let checkFailed = ExitCode(4)
}
