import Foundation

/// What /proc says about a process.
enum ProcessFacts {
    static func commandLine(of pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
    }

    static func descriptors(of pid: pid_t) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap(Int.init).sorted()
    }

    static func parent(of pid: pid_t) -> pid_t? { field(3, of: pid).flatMap { pid_t($0) } }

    /// Alive, and not a zombie waiting for a parent that does not reap.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let state = field(2, of: pid) else { return false }
        return state != "Z" && state != "X"
    }

    /// Field `index` (0-based, from the state at 2) of /proc/PID/stat, after the parenthesised name.
    private static func field(_ index: Int, of pid: pid_t) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let paren = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: paren)...].split(separator: " ")
        return fields.count > index - 2 ? String(fields[index - 2]) : nil
    }
}
