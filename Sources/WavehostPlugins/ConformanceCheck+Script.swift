import ActorRuntime
import Foundation
import WavehostJSON
import WavehostSandbox

/// The suite for a script actor: it has no descriptor, so its examples come from a file
/// beside it (`word-count.py` → `word-count.examples.json`, the same array a descriptor's
/// `examples` holds), and every call runs sandboxed, as the engine runs it. A refusal is a
/// non-zero exit with a message on stderr; anything else must be one JSON document on stdout.
extension ConformanceCheck {
    /// Where a script's examples live.
    public static func examplesPath(forScript path: String) -> String {
        let folder = path.range(of: "/", options: .backwards).map { String(path[..<$0.upperBound]) } ?? ""
        let file = String(path.dropFirst(folder.count))
        let stem = file.range(of: ".", options: .backwards).map { String(file[..<$0.lowerBound]) } ?? file
        return folder + (stem.isEmpty ? file : stem) + ".examples.json"
    }

    func runScript(report: (Result) -> Void) -> Bool {
        var allPassed = true
        func record(_ name: String, _ passed: Bool, _ detail: String) {
            allPassed = allPassed && passed
            report(Result(name: name, passed: passed, detail: detail))
        }
        starting("loads")
        let script: ScriptActor
        do { script = try ScriptActor(path: path, cache: loader.cache, configuration: workerConfiguration) } catch {
            record("loads", false, error.description)
            return false
        }
        record("loads", true, "script \(script.name), run by \(script.interpreter.joined(separator: " ")), "
               + "sha256 \(script.sha256.prefix(16))…")

        starting("declares examples")
        let examplesFile = Self.examplesPath(forScript: path)
        let (examples, problem) = Self.readExamples(examplesFile)
        if let problem {
            record("declares examples", false, problem)
        } else {
            record("declares examples", !examples.isEmpty, examples.isEmpty
                   ? "no examples: add them to \(examplesFile) (a JSON array, as a descriptor's examples: docs/abi.md §5)"
                   : "\(examples.count) example(s) in \(examplesFile)")
        }
        for example in examples {
            let name = "example \"\(example.name)\""
            starting(name)
            guard example.config == [:] else {
                record(name, false, "scripts take no config: drop this example's \"config\"")
                continue
            }
            let (passed, detail) = Self.judgeScript(example, script, timeout: callTimeout)
            record(name, passed, detail)
        }
        for hostile in HostileInput.all {
            let name = "hostile input \"\(hostile.name)\""
            starting(name)
            let (passed, detail) = Self.checkScript(script, hostile.bytes, timeout: callTimeout)
            record(name, passed, detail)
        }
        return allPassed
    }

    /// The examples in `file` (none when it does not exist), or why they cannot be read.
    private static func readExamples(_ file: String) -> (examples: [ActorDescription.Example], problem: String?) {
        guard FileManager.default.fileExists(atPath: file) else { return ([], nil) }
        guard let data = FileManager.default.contents(atPath: file) else { return ([], "cannot read \(file)") }
        let value: JSON
        do { value = try JSON.parse([UInt8](data)) } catch { return ([], "\(file) is not valid JSON: \(error)") }
        guard let items = value.arrayValue else { return ([], "\(file) must hold a JSON array of examples") }
        var examples: [ActorDescription.Example] = []
        for (position, item) in items.enumerated() {
            do { examples.append(try ActorDescription.Example(item, position: position)) } catch {
                return ([], "\(file): \(error.message)")
            }
        }
        return (examples, nil)
    }

    private static func judgeScript(_ example: ActorDescription.Example, _ script: ScriptActor, timeout: Duration) -> (Bool, String) {
        do throws(SandboxFailure) {
            return judge(example, .success(try script.invoke(example.input.bytes, timeout: timeout)))
        } catch {
            guard case .actorFailed(let status) = error.code else { return (false, error.message) }
            return judge(example, .failure(ActorFailure(status, actor: script.name, message: error.message)))
        }
    }

    private static func checkScript(_ script: ScriptActor, _ input: [UInt8], timeout: Duration) -> (Bool, String) {
        do throws(SandboxFailure) {
            let output = try script.invoke(input, timeout: timeout)
            return (true, "answered \(output.count) bytes of valid JSON")
        } catch {
            switch error.code {
            case .actorFailed(.invalidOutput): return (false, error.message)
            case .actorFailed: return (true, "refused: \(error.message.prefix(100))")
            default: return (false, error.message)
            }
        }
    }
}
