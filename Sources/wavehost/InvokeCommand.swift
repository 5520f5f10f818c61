import ArgumentParser
import Foundation
import Host
import WavehostJSON

struct InvokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Load a plugin, create it with a config and invoke it once.",
        discussion: "Prints the actor's output on stdout; a refusal or failure goes to stderr with exit status 1."
    )

    @Argument(help: "The plugin's shared library (.so).")
    var path: String

    @Option(help: "The input: JSON text, @FILE to read a file, or @- for stdin.")
    var input: String

    @Option(help: "The config: JSON text, @FILE or @-. Defaults to {}.")
    var config: String = "{}"

    @Flag(help: "Indent the output.")
    var pretty = false

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let inputBytes = try Self.bytes(of: input, option: "--input")
        let configBytes = try Self.bytes(of: config, option: "--config")
        let instance: ActorInstance
        do { instance = try cache.loader.load(path).makeInstance(config: configBytes) } catch { throw fail(error) }
        do {
            let output = try instance.invoke(inputBytes)
            if pretty, let value = try? JSON.parse(output) {
                print(value.prettyText)
            } else {
                print(String(decoding: output, as: UTF8.self))
            }
        } catch {
            printError("error: \(error)")
            throw ExitStatus.actorFailed
        }
    }

    /// Reads `JSON`, `@file` or `@-` into bytes.
    static func bytes(of argument: String, option: String) throws -> [UInt8] {
        guard argument.hasPrefix("@") else { return Array(argument.utf8) }
        let file = String(argument.dropFirst())
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data else { throw ValidationError("\(option): cannot read \(file)") }
        return Array(data)
    }
}
