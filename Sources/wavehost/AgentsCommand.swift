import ArgumentParser
import Foundation
import WavehostEngine
import WavehostJSON
import WavehostStore

/// `wavehost agents …`: the agents a compliance workflow checks, as rows of its declared
/// `agents` table (its subjects). Each change is also in the effect ledger, like any write.
struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Register, list and remove the agents a compliance workflow checks.",
        discussion: """
            Agents are rows of the declared table --table (compliance.agents by default), which \
            the compliance workflow takes as its subjects: each is checked on the workflow's \
            heartbeat, or now with `wavehost run … --subject NAME --trigger owner_test`. \
            See docs/compliance.md.
            """,
        subcommands: [Add.self, List.self, Remove.self])

    struct Target: ParsableArguments {
        @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
        var database: String?

        @Option(help: "The agents table, namespace.name.")
        var table = "compliance.agents"

        @Option(help: ArgumentHelp("A workflow file that declares the table: its tables are declared first (needed before its first run).",
                                   valueName: "file"))
        var workflow: String?

        /// The store, with the table declared (by --workflow when given).
        func open() throws -> (Store, TableSchema) {
            let location = Store.defaultLocation(database)
            let store: Store
            do { store = try Store(location: location) } catch {
                printError("error: \(error)")
                throw ExitStatus.storeError
            }
            if let workflow { try declareTables(of: workflow, in: store) }
            let name = TableSchema.qualified(table)
            guard let schema = try? store.tableSchema(name) else {
                printError("error: no workflow declares the table \(name) yet: pass --workflow FILE (the compliance workflow, "
                           + "samples/workflows/compliance.yaml) or run that workflow once")
                throw ExitStatus.badInput
            }
            for column in ["agent", "url", "owner"] where !schema.columns.contains(where: { $0.name == column }) {
                printError("error: \(name) has no column \"\(column)\": an agents table needs agent, url and owner (docs/compliance.md)")
                throw ExitStatus.badInput
            }
            return (store, schema)
        }

        private func declareTables(of file: String, in store: Store) throws {
            do {
                let parser = WorkflowParser(file: file)
                let source = try parser.expandVariables(String(contentsOfFile: file, encoding: .utf8), ProcessInfo.processInfo.environment)
                let definition = try parser.parse(source)
                try store.declareTables(definition.tables, workflow: definition.name)
            } catch let error as WorkflowError {
                printError("error: \(error)")
                throw ExitStatus.badInput
            } catch let error as StoreError {
                printError("error: \(file): \(error.code == .tableRefused ? error.message : error.description)")
                throw error.code == .tableRefused ? ExitStatus.badInput : ExitStatus.storeError
            } catch {
                printError("error: \(file): cannot read the workflow file: \(error.localizedDescription)")
                throw ExitStatus.badInput
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an agent: its name, base URL and owner.")
        @OptionGroup var target: Target
        @Argument(help: "The agent's name (its key: runs, history and status go by it).") var name: String
        @Option(help: "Its base URL (http or https), which the suite's paths are relative to.") var url: String
        @Option(help: "Who owns it: their checks (heartbeat, owner_test) set its status.") var owner: String

        func validate() throws {
            guard !name.isEmpty, !name.contains("@") else { throw ValidationError("an agent's name is not empty and holds no \"@\"") }
            guard let parts = URLComponents(string: url), ["http", "https"].contains(parts.scheme ?? ""), !(parts.host ?? "").isEmpty else {
                throw ValidationError("--url: \"\(url)\" is not an http or https URL with a host")
            }
            guard !owner.isEmpty else { throw ValidationError("--owner: a name") }
        }

        func run() throws {
            let (store, table) = try target.open()
            if let existing = try store.row(of: table, key: name) {
                printError("error: agent \(name) is already registered (url \(existing["url"]?.stringValue ?? "?"), owner "
                           + "\(existing["owner"]?.stringValue ?? "?")): remove it first to change it")
                throw ExitStatus.badInput
            }
            var row: [(key: String, value: JSON)] = [("agent", .string(name)), ("url", .string(url)), ("owner", .string(owner))]
            if table.columns.contains(where: { $0.name == "added_at" }) { row.append(("added_at", .string(RunOccasion.timestamp(Date())))) }
            try apply(Effect(operation: .insert, table: table, key: name, row: .object(row)), store)
            print("registered agent \(name) (\(url), owner \(owner)) in \(table.qualifiedName)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The registered agents, with their current status when checked.")
        @OptionGroup var target: Target

        func run() throws {
            let (store, table) = try target.open()
            let agents = try store.rows(of: table)
            guard !agents.isEmpty else {
                print("no agents in \(table.qualifiedName) yet: wavehost agents add NAME --url URL --owner OWNER")
                return
            }
            // The status table of the same namespace, when the compliance workflow declares it.
            let statuses = (try? store.tableSchema(table.namespace + ".agent_status")).flatMap { try? store.rows(of: $0) } ?? []
            let status = Dictionary(statuses.map { ($0.key, $0.row) }, uniquingKeysWith: { first, _ in first })
            print("agent                  owner            status                                   url")
            for agent in agents {
                let state = status[agent.key].map { row -> String in
                    let passing = row["passing"]?.boolValue == true ? "passing" : "failing"
                    let counts = "\(row["storyboards_passing"]?.intValue ?? 0)/\(row["storyboards"]?.intValue ?? 0)"
                    return "\(passing) \(counts) at \(row["checked_at"]?.stringValue ?? "?")"
                } ?? "not checked yet"
                print([agent.key.padding(22), (agent.row["owner"]?.stringValue ?? "").padding(16), state.padding(40),
                       agent.row["url"]?.stringValue ?? ""].joined(separator: " "))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an agent: it is no longer checked. Its history and status rows stay.")
        @OptionGroup var target: Target
        @Argument(help: "The agent's name.") var name: String

        func run() throws {
            let (store, table) = try target.open()
            guard try store.row(of: table, key: name) != nil else {
                printError("error: no agent \(name) in \(table.qualifiedName) (wavehost agents list shows them)")
                throw ExitStatus.badInput
            }
            try apply(Effect(operation: .delete, table: table, key: name, row: .object([("agent", .string(name))])), store)
            print("removed agent \(name) from \(table.qualifiedName)")
        }
    }
}

/// One write to the agents table, outside any interaction, with its ledger entry.
private func apply(_ effect: Effect, _ store: Store) throws {
    do { _ = try store.applyOutsideInteraction([effect], origin: nil) } catch {
        printError("error: \(effect.table.qualifiedName): \(error)")
        throw ExitStatus.storeError
    }
}
