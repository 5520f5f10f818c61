import Foundation
import Synchronization
import Testing
import WavehostEngine
import WavehostHash
import WavehostPlugins

/// The watcher, in both modes, against real files in a fresh folder. Every "no event"
/// is proven by a later file's event: changes are reported in order.
@Suite struct PluginWatcherTests {
    typealias Change = PluginWatcher.Change
    static let modes: [PluginWatcher.Mode] = [.inotify, .polling(interval: .milliseconds(100))]

    @Test(arguments: modes)
    func reportsAddedChangedAndRemovedByHash(mode: PluginWatcher.Mode) async throws {
        let folder = try TestPlugins.temporaryDirectory()
        let collector = Collector()
        let watcher = PluginWatcher(folders: [folder], mode: mode, onChange: collector.record)
        #expect(watcher.mode == mode && watcher.fallbackReason == nil)
        watcher.start()
        defer { watcher.stop() }
        let plugin = folder + "/echo.so", barrier = folder + "/barrier.so"
        let first = content(1), second = content(2)

        var renamed = try install(first, at: plugin)
        var seen = try await collector.wait(for: 1)
        #expect(seen.map(\.change) == [Change(kind: .added, path: plugin, sha256: ContentHash.sha256(of: first))])
        report(mode, "rename → added", from: renamed, to: seen.last)

        renamed = try install(second, at: plugin)
        seen = try await collector.wait(for: 2)
        #expect(seen.last?.change == Change(kind: .changed, path: plugin, sha256: ContentHash.sha256(of: second)))
        report(mode, "rename → changed", from: renamed, to: seen.last)

        // The same content again, and a touch: no event before the barrier's.
        try install(second, at: plugin)
        #expect(utimes(plugin, nil) == 0)
        try install(first, at: barrier)
        seen = try await collector.wait(for: 3)
        #expect(seen.map(\.change.path) == [plugin, plugin, barrier])

        #expect(unlink(plugin) == 0)
        seen = try await collector.wait(for: 4)
        #expect(seen.last?.change == Change(kind: .removed, path: plugin, sha256: nil))

        let stopping = ContinuousClock.now
        watcher.stop()
        #expect(stopping.duration(to: .now) < .seconds(1))
        #expect(collector.all.count == 4)
    }

    /// Open, write half, pause, write the rest, close: only the complete file is reported.
    /// inotify only: polling can promise this only for writers that pause less than its
    /// interval, which a loaded machine does not keep (the docs tell writers to rename).
    @Test(arguments: [PluginWatcher.Mode.inotify])
    func aFileWrittenInPlaceIsReportedOnceComplete(mode: PluginWatcher.Mode) async throws {
        let folder = try TestPlugins.temporaryDirectory()
        let collector = Collector()
        let watcher = PluginWatcher(folders: [folder], mode: mode, onChange: collector.record)
        watcher.start()
        defer { watcher.stop() }
        let path = folder + "/slow.sh", bytes = content(3, count: 256 * 1024)

        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        try writeAll(descriptor, bytes[..<(bytes.count / 2)])
        try await Task.sleep(for: .milliseconds(300))
        try writeAll(descriptor, bytes[(bytes.count / 2)...])
        let closed = ContinuousClock.now
        close(descriptor)

        var seen = try await collector.wait(for: 1)
        #expect(seen.map(\.change) == [Change(kind: .added, path: path, sha256: ContentHash.sha256(of: bytes))])
        report(mode, "close → added", from: closed, to: seen.last)
        try install(content(4), at: folder + "/barrier.so")
        seen = try await collector.wait(for: 2)
        #expect(seen.map(\.change.path) == [path, folder + "/barrier.so"])
    }

    @Test(arguments: modes)
    func ignoresHiddenTemporaryOtherAndNestedFiles(mode: PluginWatcher.Mode) async throws {
        let folder = try TestPlugins.temporaryDirectory()
        let collector = Collector()
        let watcher = PluginWatcher(folders: [folder + "/"], mode: mode, onChange: collector.record)
        watcher.start()
        defer { watcher.stop() }

        for name in [".hidden.so", "echo.so~", "echo.so.tmp", "echo.so.part", "echo.so.swp", "notes.txt", "Makefile"] {
            try write(content(5), to: folder + "/" + name)
        }
        try install(content(6), at: folder + "/.echo.so")
        #expect(mkdir(folder + "/nested", 0o755) == 0)
        try install(content(7), at: folder + "/nested/echo.so")
        try install(content(8), at: folder + "/grader.py")
        let seen = try await collector.wait(for: 1)
        #expect(seen.map(\.change) == [Change(kind: .added, path: folder + "/grader.py", sha256: ContentHash.sha256(of: content(8)))])
        #expect(!PluginWatcher.isWatched("echo.so.part") && PluginWatcher.isWatched("echo.so"))
    }

    @Test(arguments: modes)
    func filesPresentAtStartAreReportedOrOnlyHashed(mode: PluginWatcher.Mode) async throws {
        let folder = try TestPlugins.temporaryDirectory()
        let plugin = folder + "/echo.so", script = folder + "/wrap.sh"
        try install(content(1), at: plugin)
        try install(content(2), at: script)

        let reported = Collector()
        let first = PluginWatcher(folders: [folder], mode: mode, onChange: reported.record)
        first.start(reportExisting: true)
        let seen = try await reported.wait(for: 2)
        #expect(Set(seen.map(\.change)) == [Change(kind: .added, path: plugin, sha256: ContentHash.sha256(of: content(1))),
                                           Change(kind: .added, path: script, sha256: ContentHash.sha256(of: content(2)))])
        first.stop()

        // Without reporting them, existing files are still known: a touch is nothing, an edit is `changed`.
        let quiet = Collector()
        let second = PluginWatcher(folders: [folder], mode: mode, onChange: quiet.record)
        second.start()
        defer { second.stop() }
        #expect(utimes(plugin, nil) == 0)
        try install(content(3), at: script)
        #expect(try await quiet.wait(for: 1).map(\.change)
            == [Change(kind: .changed, path: script, sha256: ContentHash.sha256(of: content(3)))])
    }

    @Test(arguments: modes)
    func aCallbackMayStopItsWatcher(mode: PluginWatcher.Mode) async throws {
        let folder = try TestPlugins.temporaryDirectory()
        let collector = Collector()
        let holder = Mutex<PluginWatcher?>(nil)
        let watcher = PluginWatcher(folders: [folder], mode: mode) { change in
            collector.record(change)
            holder.withLock { $0 }?.stop()  // must not wait for its own thread
        }
        holder.withLock { $0 = watcher }
        watcher.start()
        try install(content(1), at: folder + "/echo.so")
        #expect(try await collector.wait(for: 1).count == 1)
        watcher.stop()
        holder.withLock { $0 = nil }
    }

    @Test func aFolderInotifyCannotWatchMeansPolling() throws {
        let missing = try TestPlugins.temporaryDirectory() + "/missing"
        let watcher = PluginWatcher(folders: [missing], mode: .inotify) { _ in }
        #expect(watcher.mode == .polling(interval: PluginWatcher.fallbackInterval))
        #expect(watcher.fallbackReason?.contains(missing) == true)
        #expect("\(watcher.mode)".hasPrefix("polling"))
    }
}

/// Changes as the watcher's thread reports them, each with the time it arrived.
private final class Collector: Sendable {
    struct Seen: Sendable {
        let change: PluginWatcher.Change
        let at: ContinuousClock.Instant
    }

    private let seen = Mutex<[Seen]>([])

    var all: [Seen] { seen.withLock { $0 } }

    @Sendable func record(_ change: PluginWatcher.Change) {
        seen.withLock { $0.append(Seen(change: change, at: .now)) }
    }

    /// Every change so far, once there are `count` (checked every 10 ms), or after `timeout`.
    func wait(for count: Int, timeout: Duration = .seconds(4)) async throws -> [Seen] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while all.count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return all
    }
}

private func content(_ version: UInt8, count: Int = 64 * 1024) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(version) &* 7) ^ version }
}

private func report(_ mode: PluginWatcher.Mode, _ what: String, from start: ContinuousClock.Instant,
                    to seen: Collector.Seen?)
{
    guard let seen else { return }
    let milliseconds = Double(start.duration(to: seen.at) / .microseconds(1)) / 1000
    print("PluginWatcher \(mode): \(what) in \(String(format: "%.2f", milliseconds)) ms")
}

/// Writes under a temporary name beside `path`, renames over it; returns the time just before the rename.
@discardableResult
private func install(_ bytes: [UInt8], at path: String) throws -> ContinuousClock.Instant {
    try write(bytes, to: path + ".part")
    let renaming = ContinuousClock.now
    guard rename(path + ".part", path) == 0 else { throw TestSetupError("rename to \(path): errno \(errno)") }
    return renaming
}

private func write(_ bytes: [UInt8], to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw TestSetupError("cannot create \(path): errno \(errno)") }
    defer { close(descriptor) }
    try writeAll(descriptor, bytes[...])
}

private func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) throws {
    try bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            guard written > 0 else { throw TestSetupError("write failed: errno \(errno)") }
            offset += written
        }
    }
}
