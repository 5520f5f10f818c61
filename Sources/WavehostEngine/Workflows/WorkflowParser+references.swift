import Foundation
import WavehostJSON
import Yams

extension WorkflowDefinition {
    /// The steps `index` depends on, directly or through others, in execution order: their
    /// outputs are in its input.
    public func ancestors(of index: Int) -> [Int] {
        var found = Set<Int>()
        var pending = steps[index].after
        while let name = pending.popLast() {
            guard let dependency = steps.firstIndex(where: { $0.name == name }), found.insert(dependency).inserted else { continue }
            pending += steps[dependency].after
        }
        return found.sorted()
    }

    /// The names a step's input holds at its top level: `subject`, `attempt`, `trigger`
    /// (absent for a run with no occasion: see ``RunOccasion``), every
    /// ancestor's name, `cursor` for a paged step and `lookup` for one with a lookup.
    public func inputNames(of index: Int) -> Set<String> {
        let step = steps[index]
        var names: Set<String> = ["subject", "attempt", "trigger"]
        names.formUnion(ancestors(of: index).map { steps[$0].name })
        if step.paging != nil { names.insert("cursor") }
        if step.lookup != nil { names.insert("lookup") }
        return names
    }
}

extension WorkflowParser {
    /// Refuses, with its line, a reference to something a step's input will not hold: its
    /// `input` path, its `when` step, and every `{{name.path}}` in the config strings its
    /// actor declares as templates (`x-wavehost-template` in the config schema).
    func checkReferences(_ workflow: WorkflowDefinition, _ nodes: Node.Mapping) throws(WorkflowError) {
        for (index, step) in workflow.steps.enumerated() {
            let names = workflow.inputNames(of: index)
            let node = nodes[step.name] ?? nodes.first!.value
            let fields = node.mapping
            func refuse(_ at: Node?, _ reference: String, _ what: String) -> WorkflowError {
                let reachable = workflow.ancestors(of: index).map { workflow.steps[$0].name }
                let hint = workflow.steps.contains { $0.name == reference }
                    ? "step \(reference) is not among the steps \(step.name) comes after, directly or through others"
                        + (reachable.isEmpty ? "" : " (\(reachable.joined(separator: ", ")))") + "; add it to \"after\""
                    : "the input holds \(names.sorted().joined(separator: ", "))"
                return fault(at ?? node, "step \(step.name): \(what) reads \"\(reference)\", which its input will not hold: \(hint)")
            }
            if let path = step.input, let first = path.first, !names.contains(first) {
                throw refuse(fields?["input"], first, "input")
            }
            if let condition = step.condition, !names.contains(condition.step) || condition.step == "subject" {
                throw refuse(fields?["when"], condition.step, "when")
            }
            for (variantIndex, variant) in step.variants.enumerated() {
                let variantNode = fields?["variants"].flatMap { $0.sequence.map(Array.init) }?[safe: variantIndex] ?? node
                for key in templateFields[variant.actor] ?? [] {
                    guard let text = variant.config[key]?.stringValue else { continue }
                    for reference in Self.templateRoots(text) where !names.contains(reference) {
                        throw refuse(variantNode.mapping?["config"]?.mapping?[key], reference, "config \(key) (actor \(variant.actor))")
                    }
                }
            }
        }
    }

    /// The first part of each `{{dotted.path}}` in `text`.
    public static func templateRoots(_ text: String) -> [String] {
        var roots: [String] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{"), let close = rest[open.upperBound...].firstRange(of: "}}") {
            let path = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let root = path.split(separator: ".").first { roots.append(String(root)) }
            rest = rest[close.upperBound...]
        }
        return roots
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
