import ArgumentParser
import Foundation

/// `wavehost new actor NAME --lang L`: a project that builds and passes `plugins check` as
/// generated. Each is the bundled example for its language, renamed, with what it needs to
/// build outside this repository (the C headers, the Rust ABI types, a path to ActorKit).
struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Start a new project.",
        subcommands: [NewActorCommand.self]
    )
}

struct NewActorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actor",
        abstract: "Start an actor project that builds and passes `wavehost plugins check` as generated.",
        discussion: """
            The project is the bundled example actor for the language, renamed: echo-c (c), \
            word-count in Rust (rust), json-transform with ActorKit (swift), or the word-count \
            script (python). Its README says how to build, check and change it. The files come \
            from this Wavehost's checkout (found from the wavehost executable, or --sdk).
            """
    )

    enum Language: String, ExpressibleByArgument, CaseIterable {
        case c, swift, rust, python
    }

    @Argument(help: "The actor's name: 1–64 of a–z, 0–9, '-' and '_', starting with a letter (e.g. salary-check).")
    var name: String

    @Option(help: "The language: c, swift, rust or python.")
    var lang: Language

    @Option(help: "The folder to create. Defaults to ./NAME.")
    var output: String?

    @Option(help: "The Wavehost checkout to take the examples, headers and ActorKit from. Defaults to the one this wavehost was built in.")
    var sdk: String?

    func validate() throws {
        guard ActorTemplate.isValidName(name) else {
            throw ValidationError("\"\(name)\" is not an actor name: use 1–64 of a–z, 0–9, '-' and '_', starting with a letter")
        }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: output ?? name).standardizedFileURL.path
        guard !FileManager.default.fileExists(atPath: folder) else {
            printError("error: \(folder) already exists: choose another --output, or remove it")
            throw ExitStatus.badInput
        }
        guard let root = sdk.map({ URL(fileURLWithPath: $0).standardizedFileURL.path }) ?? ActorTemplate.checkoutOfThisExecutable(),
              ActorTemplate.isCheckout(root)
        else {
            printError("error: cannot find a Wavehost checkout to take the \(lang.rawValue) example from; give one with --sdk PATH")
            throw ExitStatus.badInput
        }
        let template = ActorTemplate(name: name, checkout: root)
        let files: [ActorTemplate.File]
        do { files = try template.files(for: lang) } catch {
            printError("error: \(error)")
            throw ExitStatus.badInput
        }
        do {
            for file in files {
                let path = folder + "/" + file.path
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try file.contents.write(toFile: path, atomically: true, encoding: .utf8)
                if file.executable { chmod(path, 0o755) }
            }
        } catch {
            printError("error: cannot write \(folder): \(error.localizedDescription)")
            throw ExitStatus.actorFailed
        }
        print("created \(folder) (\(files.count) files): \(lang.rawValue) actor \"\(name)\"")
        print("next:")
        for step in template.nextSteps(for: lang, folder: folder) { print("  \(step)") }
    }
}
