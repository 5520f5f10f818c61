/// Why a workflow file was refused, with the place in the file: `file:line:column: message`.
public struct WorkflowError: Error, Sendable, CustomStringConvertible {
    public let file: String
    /// 1-based; 0 when the fault has no single place (an empty file).
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, _ message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
