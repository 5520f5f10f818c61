import ArgumentParser

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Inspect and check actor plugins.",
        subcommands: [InspectCommand.self, CheckCommand.self]
    )
}
