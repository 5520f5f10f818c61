import ActorRuntime
import Foundation
import WavehostJSON
import WavehostSandbox
import Yams

/// Reads a workflow file, refusing anything doubtful before a step runs: YAML errors,
/// unknown keys, unknown or cyclic dependencies, unknown actors, values out of range.
/// Every error names the file, line and column at fault.
public struct WorkflowParser {
    public let file: String
    /// Actor names the host can run; nil skips that check.
    public let knownActors: Set<String>?
    /// Per actor, the config keys that are `{{dotted.path}}` templates over the input (the
    /// actor's schema says so): their references are checked like `input` and `when`.
    public let templateFields: [String: Set<String>]

    public init(file: String, knownActors: Set<String>? = nil, templateFields: [String: Set<String>] = [:]) {
        self.file = file
        self.knownActors = knownActors
        self.templateFields = templateFields
    }

    /// Reads and checks the file at `file`.
    public func parseFile() throws(WorkflowError) -> WorkflowDefinition {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw WorkflowError(file: file, line: 0, column: 0, "cannot read the workflow file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw WorkflowError(file: file, line: 0, column: 0, "the workflow file is not UTF-8")
        }
        return try parse(text)
    }

    /// Checks `text` as the contents of `file`.
    public func parse(_ text: String) throws(WorkflowError) -> WorkflowDefinition {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw WorkflowError(file: file, line: 0, column: 0, "the workflow file is empty")
            }
            root = composed
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw yamlError(error)
        }
        let top = try mapping(root, "the workflow", keys: ["workflow", "environment", "namespace", "tables", "writable_tables",
                                                                 "approved_hashes", "subjects", "every", "steps"])
        guard let name = try top["workflow"].map({ node throws(WorkflowError) in try string(node, "workflow") }) else {
            throw fault(root, "missing \"workflow\": the workflow's name")
        }
        let environment = try top["environment"].map { node throws(WorkflowError) in
            try choice(node, "environment", WorkflowDefinition.Environment.self)
        } ?? .prod
        let namespace = try self.namespace(top["namespace"])
        guard let stepsNode = top["steps"] else { throw fault(root, "missing \"steps\"") }
        let stepNodes = try mapping(stepsNode, "steps", keys: nil)
        guard stepNodes.count > 0 else { throw fault(stepsNode, "a workflow needs at least one step") }
        var steps: [WorkflowDefinition.Step] = []
        for (key, node) in stepNodes {
            steps.append(try step(named: try string(key, "a step name"), node, key: key))
        }
        let workflow = WorkflowDefinition(
            name: name, environment: environment, namespace: namespace, tables: try tables(top, namespace: namespace),
            steps: try ordered(steps, stepNodes),
            approvedHashes: try top["approved_hashes"].map { node throws(WorkflowError) in try strings(node, "approved_hashes") } ?? [],
            subjects: try top["subjects"].map { node throws(WorkflowError) in try subjectSource(node) },
            everyMilliseconds: try top["every"].map { node throws(WorkflowError) in try heartbeat(node) }
        )
        try checkTableUses(workflow, top, stepNodes)
        try checkReferences(workflow, stepNodes)
        return workflow
    }

    // MARK: - Steps and variants

    /// Reads one step; faults of the step as a whole point at its name (`key`).
    private func step(named name: String, _ node: Node, key: Node) throws(WorkflowError) -> WorkflowDefinition.Step {
        let fields = try mapping(node, "step \(name)", keys: ["after", "actor", "config", "isolation", "limits", "variants",
                                                             "timeout", "retries", "when", "input", "paging", "save", "lookup",
                                                             "concurrency", "network", "environment", "read"])
        var variants: [WorkflowDefinition.Variant] = []
        switch (fields["actor"], fields["variants"]) {
        case (.some, .some): throw fault(key, "step \(name): give either \"actor\" or \"variants\", not both")
        case (.none, .none): throw fault(key, "step \(name): needs an \"actor\" or \"variants\"")
        case (.some, .none): variants = [try variant(node, step: name, shorthand: true)]
        case (.none, .some(let list)):
            for item in try sequence(list, "step \(name): variants") { variants.append(try variant(item, step: name, shorthand: false)) }
            guard !variants.isEmpty else { throw fault(list, "step \(name): variants is empty") }
        }
        guard variants.contains(where: { $0.mode == .live && $0.weight > 0 }) else {
            throw fault(key, "step \(name): needs at least one live variant with a weight above 0")
        }
        let after = try fields["after"].map { node throws(WorkflowError) in try strings(node, "step \(name): after") } ?? []
        return WorkflowDefinition.Step(
            name: name, after: after, variants: variants,
            timeoutMilliseconds: try fields["timeout"].map { node throws(WorkflowError) in try duration(node, "step \(name): timeout") } ?? 30_000,
            retry: try fields["retries"].map { node throws(WorkflowError) in try retry(node, step: name) } ?? .none,
            concurrency: try fields["concurrency"].map { node throws(WorkflowError) in
                try integer(node, "step \(name): concurrency", range: 1...256)
            },
            condition: try fields["when"].map { node throws(WorkflowError) in try condition(node, step: name, after: after) },
            input: try fields["input"].map { node throws(WorkflowError) in try path(node, "step \(name): input") },
            paging: try fields["paging"].map { node throws(WorkflowError) in try path(node, "step \(name): paging") },
            save: try fields["save"].map { node throws(WorkflowError) in
                let save = try mapping(node, "step \(name): save", keys: ["table", "rows", "key", "subject"])
                guard let table = save["table"] else { throw fault(node, "step \(name): save needs a \"table\"") }
                return WorkflowDefinition.Save(
                    table: try string(table, "save: table"),
                    rows: try save["rows"].map { node throws(WorkflowError) in try path(node, "save: rows") },
                    key: try save["key"].map { node throws(WorkflowError) in try string(node, "save: key") },
                    subject: try save["subject"].map { node throws(WorkflowError) in try string(node, "save: subject") })
            },
            lookup: try fields["lookup"].map { node throws(WorkflowError) in
                let lookup = try mapping(node, "step \(name): lookup", keys: ["table", "key"])
                guard let table = lookup["table"], let key = lookup["key"] else {
                    throw fault(node, "step \(name): lookup needs a \"table\" and a \"key\"")
                }
                return WorkflowDefinition.Lookup(table: try string(table, "lookup: table"), key: try string(key, "lookup: key"))
            },
            line: key.mark?.line ?? 0
        )
    }

    private func variant(_ node: Node, step: String, shorthand: Bool) throws(WorkflowError) -> WorkflowDefinition.Variant {
        let what = "step \(step): variant"
        let fields = try mapping(node, what, keys: shorthand ? nil : ["actor", "config", "role", "weight", "mode", "isolation", "limits",
                                                                           "network", "environment", "read"])
        guard let actorNode = fields["actor"] else { throw fault(node, "\(what) needs an \"actor\"") }
        let actor = try string(actorNode, "\(what): actor")
        if let knownActors, !knownActors.contains(actor) {
            throw fault(actorNode, "unknown actor \"\(actor)\" (known: \(knownActors.sorted().joined(separator: ", ")))")
        }
        let weight = try fields["weight"].map { node throws(WorkflowError) in try integer(node, "\(what): weight", range: 0...1_000_000) } ?? 100
        let limits = try fields["limits"].map { node throws(WorkflowError) in try json(node) }
        if let limits {
            do { try WorkflowDefinition.Variant.checkLimits(limits) } catch { throw fault(fields["limits"]!, "\(what): \(error)") }
        }
        return WorkflowDefinition.Variant(
            actor: actor,
            config: try fields["config"].map { node throws(WorkflowError) in try json(node) } ?? [:],
            role: try fields["role"].map { node throws(WorkflowError) in try choice(node, "\(what): role", WorkflowDefinition.Variant.Role.self) } ?? .champion,
            weight: weight,
            mode: try fields["mode"].map { node throws(WorkflowError) in try choice(node, "\(what): mode", WorkflowDefinition.Variant.Mode.self) } ?? .live,
            isolation: try fields["isolation"].map { node throws(WorkflowError) in
                try choice(node, "\(what): isolation", WorkflowDefinition.Variant.Isolation.self)
            } ?? .process,
            limits: limits,
            grants: try grants(fields, what: what),
            line: node.mark?.line ?? 0
        )
    }

    /// `network: {allow: [HOST[:PORT], "*.DOMAIN[:PORT]", ...], schemes: [https, http], writes_in: [prod, test, shadow]}`,
    /// `environment: [NAME, ...]`, `read: [PATH, ...]`: checked here, with file and line.
    private func grants(_ fields: Node.Mapping, what: String) throws(WorkflowError) -> WorkflowDefinition.Grants {
        var grants = WorkflowDefinition.Grants()
        if let node = fields["network"] {
            let network = try mapping(node, "\(what): network", keys: ["allow", "schemes", "writes_in"])
            guard let allow = network["allow"] else {
                throw fault(node, "\(what): network needs \"allow\", e.g. network: {allow: [\"api.example.com\"], schemes: [https]}")
            }
            let hosts = try strings(allow, "\(what): network: allow")
            let schemes = try network["schemes"].map { node throws(WorkflowError) in try strings(node, "\(what): network: schemes") }
            do { grants.network = try NetworkGrant(allow: hosts, schemes: schemes ?? ["https"]) } catch {
                throw fault(node, "\(what): \(error)")
            }
            if let writes = network["writes_in"] {
                var runs: Set<NetworkGrant.Run> = []
                for name in try strings(writes, "\(what): network: writes_in") {
                    guard let run = NetworkGrant.Run(rawValue: name) else {
                        throw fault(writes, "\(what): network: writes_in lists runs (prod, test, shadow), not \"\(name)\"")
                    }
                    runs.insert(run)
                }
                grants.network?.writesIn = runs
            }
        }
        if let node = fields["environment"] {
            grants.environment = try strings(node, "\(what): environment")
            for name in grants.environment where name.isEmpty || name.contains("=") || name.contains(where: \.isWhitespace) {
                throw fault(node, "\(what): environment lists variable names; \"\(name)\" is not one")
            }
        }
        if let node = fields["read"] {
            grants.read = try strings(node, "\(what): read")
            for path in grants.read where !path.hasPrefix("/") {
                throw fault(node, "\(what): read needs absolute paths (write ${WORKFLOW_DIR}/...), not \"\(path)\"")
            }
        }
        return grants
    }

    private func path(_ node: Node, _ what: String) throws(WorkflowError) -> [String] {
        let path = try string(node, what).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.contains(where: \.isEmpty) else { throw fault(node, "\(what): an empty part in the dotted path") }
        return path
    }

    private func subjectSource(_ node: Node) throws(WorkflowError) -> WorkflowDefinition.SubjectSource {
        let fields = try mapping(node, "subjects", keys: ["single", "table", "file", "key"])
        switch (fields["single"], fields["table"], fields["file"]) {
        case (.some(let single), nil, nil): return .single(try string(single, "subjects: single"))
        case (nil, .some(let table), nil): return .table(try string(table, "subjects: table"))
        case (nil, nil, .some(let file)):
            guard let key = fields["key"] else { throw fault(node, "subjects: a file needs the \"key\" field naming each line's subject") }
            let relative = try string(file, "subjects: file")
            let base = (self.file as NSString).deletingLastPathComponent
            return .file(path: relative.hasPrefix("/") || base.isEmpty ? relative : base + "/" + relative, key: try string(key, "subjects: key"))
        default: throw fault(node, "subjects needs exactly one of single, table, file")
        }
    }

    /// `every: 1h`: at least a second, so a pass never adds runs faster than it can look.
    private func heartbeat(_ node: Node) throws(WorkflowError) -> Int {
        let milliseconds = try duration(node, "every")
        guard milliseconds >= 1000 else { throw fault(node, "every: a heartbeat of at least 1s (examples: 1h, 15m, 30s)") }
        return milliseconds
    }

    private func retry(_ node: Node, step: String) throws(WorkflowError) -> WorkflowDefinition.Retry {
        let fields = try mapping(node, "step \(step): retries", keys: ["attempts", "backoff"])
        return WorkflowDefinition.Retry(
            attempts: try fields["attempts"].map { node throws(WorkflowError) in try integer(node, "retries: attempts", range: 1...100) } ?? 1,
            backoffMilliseconds: try fields["backoff"].map { node throws(WorkflowError) in try duration(node, "retries: backoff") } ?? 0
        )
    }

    private func condition(_ node: Node, step: String, after: [String]) throws(WorkflowError) -> WorkflowDefinition.Condition {
        let fields = try mapping(node, "step \(step): when", keys: ["step", "field", "equals", "not_equals", "in"])
        guard let source = try fields["step"].map({ node throws(WorkflowError) in try string(node, "when: step") }) ?? after.first else {
            throw fault(node, "step \(step): when needs a \"step\" whose output it reads")
        }
        guard let fieldNode = fields["field"] else { throw fault(node, "step \(step): when needs a \"field\"") }
        let path = try string(fieldNode, "when: field").split(separator: ".").map(String.init)
        let tests = [fields["equals"], fields["not_equals"], fields["in"]].compactMap { $0 }
        guard tests.count == 1 else { throw fault(node, "step \(step): when needs exactly one of equals, not_equals, in") }
        let test: WorkflowDefinition.Condition.Test
        if let value = fields["equals"] {
            test = .equals(try json(value))
        } else if let value = fields["not_equals"] {
            test = .notEquals(try json(value))
        } else {
            guard case .array(let options) = try json(fields["in"]!) else { throw fault(fields["in"]!, "when: in needs a list") }
            test = .oneOf(options)
        }
        return WorkflowDefinition.Condition(step: source, field: path, test: test)
    }

    /// Orders steps so each comes after its dependencies; refuses unknown steps and cycles.
    private func ordered(_ steps: [WorkflowDefinition.Step], _ nodes: Node.Mapping) throws(WorkflowError) -> [WorkflowDefinition.Step] {
        let byName = Dictionary(steps.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for step in steps {
            for dependency in step.after where byName[dependency] == nil {
                let node = nodes[step.name]?.mapping?["after"] ?? nodes[step.name]!
                throw fault(node, "step \(step.name) comes after \"\(dependency)\", which is not a step of this workflow")
            }
        }
        var order: [WorkflowDefinition.Step] = []
        var state: [String: Bool] = [:]  // false: on the current path; true: done
        func visit(_ step: WorkflowDefinition.Step, path: [String]) throws(WorkflowError) {
            if state[step.name] == true { return }
            if state[step.name] == false {
                let cycle = path[path.firstIndex(of: step.name)!...] + [step.name]
                throw WorkflowError(file: file, line: step.line, column: 1,
                                    "the steps form a cycle: \(cycle.joined(separator: " → "))")
            }
            state[step.name] = false
            for dependency in step.after { try visit(byName[dependency]!, path: path + [step.name]) }
            state[step.name] = true
            order.append(step)
        }
        for step in steps { try visit(step, path: []) }
        return order
    }
}

extension WorkflowParser {
    /// Replaces `${NAME}` and `${NAME:-default}` with values from `variables` (the
    /// environment, plus `WORKFLOW_DIR`, the workflow file's folder), so one file serves
    /// machines with different endpoints and paths. An unset name without a default is
    /// refused with its line.
    public func expandVariables(_ text: String, _ variables: [String: String]) throws(WorkflowError) -> String {
        var variables = variables
        let folder = (file as NSString).deletingLastPathComponent
        variables["WORKFLOW_DIR"] = folder.hasPrefix("/") ? folder
            : FileManager.default.currentDirectoryPath + (folder.isEmpty ? "" : "/" + folder)
        return try expand(Substring(text), variables, whole: text)
    }

    private func expand(_ text: Substring, _ variables: [String: String], whole: String) throws(WorkflowError) -> String {
        var result = ""
        var rest = text
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            // The matching brace, so a default may hold a variable of its own.
            var depth = 1
            var close = open.upperBound
            while close < rest.endIndex {
                if rest[close] == "{" { depth += 1 } else if rest[close] == "}" { depth -= 1; if depth == 0 { break } }
                close = rest.index(after: close)
            }
            let line = whole[..<open.lowerBound].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            guard close < rest.endIndex else { throw WorkflowError(file: file, line: line, column: 0, "${ without its closing }") }
            let body = rest[open.upperBound..<close]
            let (name, fallback) = body.range(of: ":-").map { (String(body[..<$0.lowerBound]), Optional(body[$0.upperBound...])) }
                ?? (String(body), nil)
            if let value = variables[name], !value.isEmpty {
                result += value
            } else if let fallback {
                result += try expand(fallback, variables, whole: whole)
            } else {
                throw WorkflowError(file: file, line: line, column: 0, "${\(name)} is not set and has no default (write ${\(name):-value})")
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
