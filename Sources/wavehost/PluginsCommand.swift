import ArgumentParser

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Inspect, check, list and approve actor plugins.",
        subcommands: [InspectCommand.self, CheckCommand.self, ListCommand.self, ApproveCommand.self]
    )
}
