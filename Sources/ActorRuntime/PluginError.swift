import ActorABI
/// Why a plugin could not be loaded, checked or instantiated.
///
/// Every error names the file at fault; `code` tells the kind of fault, so callers can
/// react to it without parsing the message. New codes may be added.
public struct PluginError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case notFound = "not found"
            case notSharedObject = "not a shared object"
            case loadFailed = "load failed"
            case missingEntrySymbol = "missing entry symbol"
            case unsupportedABIVersion = "unsupported ABI version"
            case descriptorTooSmall = "descriptor too small"
            case malformedDescriptor = "malformed descriptor"
            case createFailed = "create failed"
            case duplicateActor = "duplicate actor"
            case cacheFailed = "cache failed"
            case noInterpreter = "no interpreter"
            case notApproved = "not approved"
            case notTrusted = "not trusted"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let notFound = Code(.notFound)
        public static let notSharedObject = Code(.notSharedObject)
        public static let loadFailed = Code(.loadFailed)
        public static let missingEntrySymbol = Code(.missingEntrySymbol)
        public static let unsupportedABIVersion = Code(.unsupportedABIVersion)
        public static let descriptorTooSmall = Code(.descriptorTooSmall)
        public static let malformedDescriptor = Code(.malformedDescriptor)
        public static let createFailed = Code(.createFailed)
        public static let duplicateActor = Code(.duplicateActor)
        public static let cacheFailed = Code(.cacheFailed)
        public static let noInterpreter = Code(.noInterpreter)
        /// Production pinning: the file's hash is not on the allowlist.
        public static let notApproved = Code(.notApproved)
        /// In-process use of a version the operator has not trusted (approve it, or `--trust` its hash).
        public static let notTrusted = Code(.notTrusted)

        /// The code whose description is `name` (as a worker reports it), if there is one.
        public init?(named name: String) {
            guard let value = Value(rawValue: name) else { return nil }
            self.value = value
        }

        public var description: String { value.rawValue }
    }

    public let code: Code
    /// The plugin file as the user named it.
    public let path: String
    public let message: String

    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(code): \(message)" }
}
