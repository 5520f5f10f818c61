import Foundation
import Synchronization

/// Where the values of `{"secret": "NAME"}` come from: a secrets file when the operator gives
/// one (`--secrets FILE` or `$WAVEHOST_SECRETS_FILE`), else the host's environment. The file
/// holds `NAME=VALUE` lines (`#` starts a comment) and must be the user's own and readable by
/// no one else, like an SSH key: a file others could read is refused, never used.
public enum HostSecrets {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    private static let file = Mutex<[String: String]?>(nil)

    /// Reads `path` and makes it the source of every secret from now on.
    public static func load(file path: String) throws(Problem) {
        file.withLock { $0 = nil }
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw Problem(description: "secrets file \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_uid == geteuid() else {
            throw Problem(description: "secrets file \(path) belongs to uid \(status.st_uid), not to this user (uid \(geteuid()))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw Problem(description: "secrets file \(path) can be read or written by others (mode \(String(status.st_mode & 0o777, radix: 8))): "
                          + "chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Problem(description: "secrets file \(path) cannot be read as UTF-8 text")
        }
        var values: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "="), equals != trimmed.startIndex else {
                // The line is not echoed: it may be a value.
                throw Problem(description: "secrets file \(path):\(number + 1): expected NAME=VALUE")
            }
            let name = String(trimmed[..<equals]).trimmingCharacters(in: .whitespaces)
            values[name] = String(trimmed[trimmed.index(after: equals)...])
        }
        file.withLock { $0 = values }
    }

    /// Reads `$WAVEHOST_SECRETS_FILE` when it is set and no file was loaded yet (`--secrets` wins).
    public static func loadFromEnvironment() throws(Problem) {
        guard file.withLock({ $0 == nil }) else { return }
        guard let path = ProcessInfo.processInfo.environment["WAVEHOST_SECRETS_FILE"], !path.isEmpty else { return }
        try load(file: path)
    }

    /// The secret `name`: from the file when one is loaded (and only from it), else the environment.
    public static func value(_ name: String) -> String? {
        if let values = file.withLock({ $0 }) { return values[name] }
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
