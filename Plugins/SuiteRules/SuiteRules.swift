import ActorKit

/// What both compliance plugins read of a suite the same way: where it comes from (its file,
/// or inline) and the rules for its names and lists. compliance-checker runs the suite and
/// compliance-status expects one result per `storyboard/phase` of it, so the two must agree
/// on every key (docs/compliance.md, "The suite"). A static library each plugin embeds.
public enum SuiteRules {
    /// A fault in the suite, with the JSON path at fault.
    public struct Fault: Error {
        public let path: String
        public let problem: String
        public var message: String { path.isEmpty ? problem : "\(path): \(problem)" }

        public init(path: String, problem: String) {
            self.path = path
            self.problem = problem
        }
    }

    /// The suite from a variant's `"suite"`: the absolute path of its JSON file (read here)
    /// or, for examples and tests, the suite inline. `parse` reads it; a fault names the file.
    public static func load<Suite>(_ value: JSON?, _ parse: (JSON) throws(Fault) -> Suite) throws(ActorError) -> Suite {
        switch value {
        case .string(let path)?:
            guard path.hasPrefix("/") else { throw .invalidConfig("suite: \"\(path)\" must be an absolute path to the suite's JSON file") }
            let bytes: [UInt8]
            do { bytes = try ActorFile.contents(of: path, limit: 16 << 20) } catch {
                switch error {
                case .cannotOpen(let reason): throw .invalidConfig("suite \(path): \(reason) (a sandboxed variant needs read: [\"\(path)\"])")
                case .cannotRead(let reason): throw .invalidConfig("suite \(path): \(reason)")
                case .tooLarge: throw .invalidConfig("suite \(path) is larger than 16 MiB")
                }
            }
            let json: JSON
            do { json = try JSON.parse(bytes) } catch { throw .invalidConfig("suite \(path) is not JSON: \(error)") }
            do { return try parse(json) } catch { throw .invalidConfig("suite \(path): \(error.message)") }
        case .object?:
            do { return try parse(value!) } catch { throw .invalidConfig("suite (inline): \(error.message)") }
        default:
            throw .invalidConfig("\"suite\" is required: the absolute path of the suite's JSON file (docs/compliance.md, \"The suite\")")
        }
    }

    /// A suite's, storyboard's or phase's name: non-empty, no "/" (a result's key is storyboard/phase).
    public static func name(_ value: JSON?, _ at: String) throws(Fault) -> String {
        guard let text = value?.stringValue, !text.isEmpty else { throw Fault(path: at, problem: "must be a non-empty string") }
        guard !text.contains("/") else { throw Fault(path: at, problem: "\"\(text)\" holds a \"/\", which separates storyboard from phase in a result's key") }
        return text
    }

    /// A list that must hold at least one item (storyboards, phases, steps).
    public static func list(_ value: JSON?, _ at: String) throws(Fault) -> [JSON] {
        guard let items = value?.arrayValue else { throw Fault(path: at, problem: "must be a list") }
        guard !items.isEmpty else { throw Fault(path: at, problem: "is empty") }
        return items
    }
}
