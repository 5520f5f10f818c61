import ArgumentParser
import Foundation
import WavehostEngine
import WavehostJSON
import WavehostStore

// The engine's enums, parsed by their raw values; the conformances live here because only
// the CLI depends on ArgumentParser.
extension WorkflowDefinition.Variant.Role: ExpressibleByArgument {}
extension WorkflowDefinition.Variant.Mode: ExpressibleByArgument {}
extension WorkflowDefinition.Variant.Isolation: ExpressibleByArgument {}

/// `wavehost variants …`: a step's variants, changed while workflows run. A running host
/// reads changes within a second and applies them from the next interaction.
struct VariantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "variants",
        abstract: "List and change a step's variants (weights, roles, shadows) without a restart.",
        subcommands: [List.self, Add.self, SetWeight.self, Shadow.self, Retire.self])

    struct Target: ParsableArguments {
        @Option(help: "The workflow's name (its newest version is changed).")
        var workflow: String

        @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
        var database: String?
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the variants of a workflow (or one step).")
        @OptionGroup var target: Target
        @Argument(help: "Only this step.") var step: String?

        func run() throws {
            let variants = try openStore(target.database).variants(workflow: target.workflow, step: step)
            print("id       step          actor                 role        weight  mode    isolation  config")
            for variant in variants where !variant.retired {
                print([String(variant.id).padding(8), variant.step.padding(13), variant.actor.padding(21), variant.role.rawValue.padding(11),
                       String(variant.weight).padding(7), variant.mode.rawValue.padding(7), variant.isolation.rawValue.padding(10),
                       variant.config.text + (variant.limits.map { "  limits \($0.text)" } ?? "")].joined(separator: " "))
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a variant to a step (a challenger at weight 0 by default).")
        @OptionGroup var target: Target
        @Argument(help: "The step.") var step: String
        @Option(help: "The actor's name.") var actor: String
        @Option(help: "Its config as JSON.") var config = "{}"
        @Option(help: "Its role.") var role: WorkflowDefinition.Variant.Role = .challenger
        @Option(help: "Its share of live traffic.") var weight = 0
        @Option(help: "Whether it serves live traffic or runs beside it.") var mode: WorkflowDefinition.Variant.Mode = .live
        @Option(help: "Where its actor runs.") var isolation: WorkflowDefinition.Variant.Isolation = .process
        @Option(help: ArgumentHelp("Its sandbox limits as JSON, as a workflow file's `limits` (e.g. '{\"memory_mb\": 256}').",
                                   valueName: "json"))
        var limits: String?

        func validate() throws {
            guard weight >= 0 else { throw ValidationError("--weight must be 0 or more") }
        }

        func run() throws {
            let parsed: JSON
            do { parsed = try JSON.parse(config) } catch { throw ValidationError("--config is not JSON: \(error)") }
            let parsedLimits = try limits.map { text throws(ValidationError) -> JSON in
                let json: JSON
                do { json = try JSON.parse(text) } catch { throw ValidationError("--limits is not JSON: \(error)") }
                do { try WorkflowDefinition.Variant.checkLimits(json) } catch { throw ValidationError("--limits: \(error)") }
                return json
            }
            let variant = WorkflowDefinition.Variant(actor: actor, config: parsed, role: role, weight: weight, mode: mode,
                                                     isolation: isolation, limits: parsedLimits, line: 0)
            let id = try openStore(target.database).addVariant(workflow: target.workflow, step: step, WorkflowRecord.Variant(variant))
            print("added variant \(id) to \(target.workflow).\(step)")
        }
    }

    struct SetWeight: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-weight", abstract: "Set a live variant's weight.")
        @OptionGroup var target: Target
        @Argument(help: "The variant's id (see list).") var variant: Int64
        @Argument(help: "Its new weight.") var weight: Int

        func run() throws {
            guard weight >= 0 else { throw ValidationError("the weight must be 0 or more") }
            try openStore(target.database).changeVariant(variant, weight: weight, mode: .live, cause: "wavehost variants set-weight")
            print("variant \(variant): weight \(weight)")
        }
    }

    struct Shadow: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a variant a shadow: it runs beside the live one and feeds nothing.")
        @OptionGroup var target: Target
        @Argument(help: "The variant's id.") var variant: Int64

        func run() throws {
            try openStore(target.database).changeVariant(variant, mode: .shadow, cause: "wavehost variants shadow")
            print("variant \(variant): shadow")
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire a variant: it takes no more traffic.")
        @OptionGroup var target: Target
        @Argument(help: "The variant's id.") var variant: Int64

        func run() throws {
            try openStore(target.database).changeVariant(variant, retire: true, cause: "wavehost variants retire")
            print("variant \(variant): retired")
        }
    }
}
