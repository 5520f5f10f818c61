import ArgumentParser
import WavehostEngine
import WavehostJSON
import WavehostPlugins

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a plugin's hash, descriptor and capabilities."
    )

    @Argument(help: "The plugin's shared library (.so).")
    var path: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let plugin: LoadedPlugin
        do { plugin = try cache.loader.load(path) } catch { throw fail(error) }
        let info = plugin.description
        if json {
            print(plugin.summaryJSON.prettyText)
            return
        }
        var rows: [(String, String)] = [
            ("path", plugin.path), ("sha256", plugin.sha256), ("name", info.name), ("version", info.version),
            ("kind", "\(info.kind)"), ("capabilities", info.capabilities.description),
            ("abi", "version \(info.abiVersion), descriptor \(info.descriptorSize) bytes"),
        ]
        if let summary = info.summary { rows.append(("description", summary)) }
        rows.append(("examples", info.examples.isEmpty ? "none" : info.examples.map(\.name).joined(separator: "; ")))
        for (label, value) in rows { print(label.padding(13) + value) }
        for (label, schema) in [("config schema", info.configSchema), ("input schema", info.inputSchema),
                                ("output schema", info.outputSchema)]
        {
            if let schema { print("\(label):\n\(schema.prettyText.indented)") }
        }
    }
}

extension LoadedPlugin {
    /// A machine-readable summary, as printed by `inspect --json`.
    var summaryJSON: JSON {
        let info = description
        return [
            "path": .string(path), "sha256": .string(sha256), "name": .string(info.name),
            "version": .string(info.version), "kind": .string("\(info.kind)"),
            "capabilities": .array(info.capabilities.names.map { .string($0) }),
            "abi_version": .integer(info.abiVersion), "descriptor_size": .integer(info.descriptorSize),
            "description": info.summary.map { .string($0) } ?? .null,
            "config_schema": info.configSchema ?? .null, "input_schema": info.inputSchema ?? .null,
            "output_schema": info.outputSchema ?? .null,
            "examples": .array(info.examples.map { .string($0.name) }),
        ]
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
    var indented: String { split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") }
}
