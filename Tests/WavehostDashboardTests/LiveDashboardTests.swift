import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// The dashboard as an operator meets it: served by a real `wavehost serve` while it runs a
/// champion and a challenger, loaded in headless Chromium, and a review accepted through
/// the page's own form (the POST a browser sends: its fields, its origin, the token cookie).
@Suite(.serialized, .enabled(if: Browser.path != nil, "chromium is not installed and tools/setup could not install it (apt)"))
struct LiveDashboardTests {
    @Test func servePublishesTheDashboardAndAReviewAcceptedThroughItIsRecorded() throws {
        let folder = try DashboardFixtures.temporaryDirectory()
        let plugins = folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try DashboardFixtures.product("EchoC"), toPath: plugins + "/libEchoC.so")
        try (0..<60).map { #"{"id":"s\#($0)"}"# }.joined(separator: "\n")
            .write(toFile: folder + "/subjects.jsonl", atomically: true, encoding: .utf8)
        try """
            workflow: live
            subjects: {file: subjects.jsonl, key: id}
            steps:
              summary:
                input: subject
                variants:
                  - {actor: echo-c, config: {wrap: a}, weight: 70}
                  - {actor: echo-c, config: {wrap: b}, role: challenger, weight: 30}
            """.write(toFile: folder + "/live.yaml", atomically: true, encoding: .utf8)
        let token = "live-\(UUID().uuidString)"
        try token.write(toFile: folder + "/token", atomically: true, encoding: .utf8)
        let database = folder + "/wavehost.db"
        let serve = try Served(folder: folder, ["serve", folder + "/live.yaml", "--plugins", plugins, "--database", database,
                                                "--every", "0.2", "--http", "127.0.0.1:0", "--token-file", folder + "/token",
                                                "--cache-dir", folder + "/cache"])
        defer { serve.stop() }
        let base = try serve.address()
        let store = try Store(location: database)
        try serve.wait(for: "every run to finish") {
            try store.count("SELECT COUNT(*) FROM runs WHERE status = 'completed'") == 60
        }

        // The live pages, rendered: the status view and the step's comparison with a series per variant.
        let status = try Browser.dumpDOM(base + "/")
        #expect(status.contains("Runs") && status.contains("summary"), "\(status.prefix(400))")
        try Browser.screenshot(base + "/", name: "live-status")
        let step = try Browser.dumpDOM(base + "/steps/live/summary")
        #expect(seriesPerPlot(step).prefix(2) == [2, 2], "success and latency, one series per variant: \(seriesPerPlot(step))")
        try Browser.screenshot(base + "/steps/live/summary", name: "live-step")

        // A review a person decides on the reviews page.
        let review = try store.requestReview(workflow: "live", step: "summary", reason: "better on success, worse on latency", evidence: [:])
        let page = try Browser.dumpDOM(base + "/reviews")
        #expect(page.contains("action=\"/reviews/\(review)/accept\""), "the page offers the form: \(page.prefix(600))")
        // Without the token (another site's forged form) it is refused and nothing is recorded.
        let forged = try post(base + "/reviews/\(review)/accept", form: "who=mallory&why=forged", origin: "http://evil.example")
        #expect(forged.hasPrefix("403"), "\(forged)")
        #expect(try store.reviewDecisions().isEmpty)
        // The page's own form, posted from the page's origin with the cookie `?token=` sets.
        let accepted = try post(base + "/reviews/\(review)/accept", form: "who=ada&why=the%20quality%20gain%20matters%20more",
                                origin: base, cookie: "wavehost_token=\(token)")
        #expect(accepted.hasPrefix("303") || accepted.hasPrefix("200"), "\(accepted)\n\(serve.output.suffix(1500))")
        let decision = try #require(try store.reviewDecisions().first)
        #expect(decision.review == review && decision.decision == "accepted" && decision.by == "ada"
                && decision.why == "the quality gain matters more")
        #expect(try store.count("SELECT COUNT(*) FROM reviews WHERE id = \(review) AND resolved_at IS NOT NULL") == 1)
        #expect(serve.stop() == 0, "serve drains and exits 0 on SIGTERM:\n\(serve.output)")
    }

    /// POSTs a form with curl as a browser would; returns "STATUS BODY".
    private func post(_ url: String, form: String, origin: String, cookie: String? = nil) throws -> String {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "-H", "Origin: \(origin)",
                         "-H", "Content-Type: application/x-www-form-urlencoded", "--data", form, url]
        if let cookie { arguments += ["-H", "Cookie: \(cookie)"] }
        let result = try DashboardFixtures.run("/usr/bin/curl", arguments)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return "\(lines.last ?? "") \(lines.dropLast().joined(separator: "\n"))"
    }
}

/// A `wavehost serve` process with its output in a file, stopped by SIGTERM.
private final class Served {
    let pid: pid_t
    let log: String
    private var status: Int32?

    init(folder: String, _ arguments: [String]) throws {
        log = folder + "/serve.log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([DashboardFixtures.cli] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, DashboardFixtures.cli, &actions, nil, argv, environ)
        guard spawned == 0 else { throw SetupError("cannot start wavehost serve: \(String(cString: strerror(spawned)))") }
        self.pid = pid
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Polls (every 50 ms, at most 60 s) until `condition` holds; fails if serve exits first.
    func wait(for what: String, _ condition: () throws -> Bool) throws {
        for _ in 0..<1200 {
            if (try? condition()) == true { return }
            var raw: Int32 = 0
            if status == nil, waitpid(pid, &raw, WNOHANG) == pid {
                status = raw
                throw SetupError("serve exited before \(what):\n\(output)")
            }
            usleep(50_000)
        }
        throw SetupError("serve never reached \(what):\n\(output)")
    }

    /// The dashboard's address, from `http: listening on http://HOST:PORT`.
    func address() throws -> String {
        var found: String?
        try wait(for: "listening") {
            found = output.split(separator: "\n").first { $0.hasPrefix("http: listening on ") }
                .map { String($0.dropFirst("http: listening on ".count)) }
            return found != nil
        }
        return found!
    }

    /// SIGTERM, then the exit code (128 + N when killed by signal N).
    @discardableResult
    func stop() -> Int32 {
        if status == nil {
            kill(pid, SIGTERM)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status = raw
        }
        let raw = status!
        return (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
    }
}
