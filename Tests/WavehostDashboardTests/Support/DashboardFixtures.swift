import Foundation
import WavehostDashboard
@testable import WavehostEngine
import WavehostHash
import WavehostJSON
@testable import WavehostPlugins
@testable import WavehostRouting
@testable import WavehostStore

/// A real store filled by real runs of the shipping echo-c plugin (built by SwiftPM from
/// Plugins/EchoC), in-process and trusted by hash as an operator would trust it.
///
/// Workflow `dash`: step `summary` has a champion and a challenger that refuse inputs over
/// 35 and 50 bytes (so the challenger fails less often: 10% against 20%), with wrap keys
/// of different lengths, so the grader step `quality` — echo-c again, whose `bytes`
/// counts its input — scores the challenger's outputs higher. A canary ramps the
/// challenger after the first batch. Workflow `hostile` has an actor whose error quotes
/// a `<script>` element; a review item waits for a person.
enum DashboardFixtures {
    struct Populated: Sendable {
        let location: String
        let store: Store
        let championID: Int64
        let challengerID: Int64
        let reviewID: Int64
    }

    static let hostileKey = "<script>alert('owned')</script>"

    static let workflow = """
        workflow: dash
        environment: test
        steps:
          summary:
            input: subject
            variants:
              - {actor: echo-c, config: {wrap: a, max_bytes: 35}, weight: 50, isolation: inprocess}
              - {actor: echo-c, config: {wrap: challenger_with_a_longer_key, max_bytes: 50}, role: challenger, weight: 50, isolation: inprocess}
          quality:
            after: [summary]
            actor: echo-c
            isolation: inprocess
        """

    /// llm-grader refuses an input without a field its prompt uses, quoting the field's
    /// name, before any request: a real actor error carrying markup.
    static let hostileWorkflow = """
        workflow: hostile
        environment: test
        steps:
          only:
            input: subject
            actor: llm-grader
            network: {allow: ["127.0.0.1"], schemes: [http]}
            config: {endpoint: "http://127.0.0.1:9/v1", prompt: "Grade {{\(hostileKey)}}"}
        """

    /// Built once per test process: every suite reads the same store, and only the review
    /// tests write (each to a review of its own).
    static let shared: Result<Populated, any Error> = Result { try populate() }

    static func populated() throws -> Populated { try shared.get() }

    /// Subject `i`: every 10th has 40 padding characters (both variants refuse it), every
    /// other 5th 20 (only the champion refuses it).
    static func subjects(_ range: Range<Int>, batch: Int) -> [Subject] {
        range.map { index in
            let pad = index % 10 == 0 ? 40 : index % 5 == 0 ? 20 : 0
            return Subject(key: "b\(batch)-\(index)", payload: ["n": .integer(index % 100), "pad": .string(String(repeating: "x", count: pad))])
        }
    }

    static func populate() throws -> Populated {
        let folder = try temporaryDirectory()
        let location = folder + "/wavehost.db"
        let store = try Store(location: location)
        let echo = try product("EchoC")
        let loader = PluginLoader(cache: PluginCache(directory: folder + "/cache"), trust: PluginTrust([try sha256(echo)]))
        let catalog = ActorCatalog(registry: PluginRegistry(loader: loader))
        try catalog.add(echo)
        try catalog.add(try product("LLMGrader"))  // sandboxed: not trusted in-process
        let definition = try WorkflowParser(file: "dash.yaml").parse(workflow)
        func traffic(_ subjects: [Subject]) throws {
            _ = try Engine(store: store, catalog: catalog).run(definition, source: workflow, subjects: subjects)
        }
        try traffic(subjects(0..<600, batch: 0))
        let variants = try store.variants(workflow: "dash", step: "summary")
        guard let champion = variants.first(where: { $0.role == .champion }), let challenger = variants.first(where: { $0.role == .challenger })
        else { throw SetupError("workflow dash has no champion and challenger after its first run") }
        try Canary.start(store: store, workflow: "dash", step: "summary", variantID: challenger.id, schedule: [5, 10, 25, 50, 100])
        var policy = PromotionPolicy()
        policy.minimumSample = 20
        try traffic(subjects(0..<600, batch: 1))
        try Canary.tick(store: store, workflow: "dash", step: "summary", policy: policy)
        try traffic(subjects(0..<400, batch: 2))

        let hostile = try WorkflowParser(file: "hostile.yaml").parse(hostileWorkflow)
        _ = try Engine(store: store, catalog: catalog).run(hostile, source: hostileWorkflow,
                                                            subjects: (0..<3).map { Subject(key: "h\($0)", payload: ["n": .integer($0)]) })

        // A review as Promotion.run opens one: the verdict's numbers kept as its evidence.
        let records = try store.variantRecords(workflow: "dash", step: "summary")
        guard let championRecord = records.first(where: { $0.variantID == champion.id }),
              let challengerRecord = records.first(where: { $0.variantID == challenger.id }) else { throw SetupError("no records for dash.summary") }
        let verdict = PromotionPolicy().decide(champion: championRecord, challenger: challengerRecord)
        let reviewID = try store.requestReview(workflow: "dash", step: "summary",
                                               reason: "a test review: <b>bold</b> is not markup here; \(verdict.reason)",
                                               evidence: Promotion.evidence(championRecord, challengerRecord, verdict))
        return Populated(location: location, store: store, championID: champion.id, challengerID: challenger.id, reviewID: reviewID)
    }

    /// A new open review item for one test to resolve.
    /// Its id comes from the insert: tests run in parallel on the shared store, and MAX(id)
    /// could be another test's review, which that test then resolves under this one.
    static func newReview(_ store: Store, reason: String = "better on success, worse on latency") throws -> Int64 {
        try store.requestReview(workflow: "dash", step: "summary", reason: reason, evidence: ["note": "opened by a test"])
    }

    // MARK: - Requests

    static let token = "s3cret-token"

    static func dashboard(_ store: Store, issues: [BackgroundIssue] = []) -> Dashboard {
        Dashboard(store: store, token: token, backgroundIssues: { issues })
    }

    static func get(_ path: String, query: [String: String] = [:], headers: [String: String] = [:]) -> DashboardRequest {
        DashboardRequest(method: "GET", path: path, query: query, headers: ["host": "127.0.0.1:8080"].merging(headers) { $1 }, body: [])
    }

    static func post(_ path: String, form: [String: String], headers: [String: String] = [:]) -> DashboardRequest {
        let body = form.sorted { $0.key < $1.key }.map { "\(encode($0.key))=\(encode($0.value))" }.joined(separator: "&")
        return DashboardRequest(method: "POST", path: path, query: [:],
                                headers: ["host": "127.0.0.1:8080", "content-type": "application/x-www-form-urlencoded"].merging(headers) { $1 },
                                body: Array(body.utf8))
    }

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    // MARK: - Files and processes

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The folder holding this test binary, where SwiftPM also puts the plugin products.
    static let productsDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("wavehost").path) {
            folder.deleteLastPathComponent()
        }
        return folder.path
    }()

    static var cli: String { productsDirectory + "/wavehost" }

    static func product(_ name: String) throws -> String {
        let path = productsDirectory + "/lib\(name).so"
        guard FileManager.default.fileExists(atPath: path) else {
            throw SetupError("\(path) is missing: run `swift build` before `swift test` (tools/test does)")
        }
        return path
    }

    static func sha256(_ path: String) throws -> String {
        guard let sha = ContentHash.sha256(ofFile: path) else { throw SetupError("cannot hash \(path)") }
        return sha
    }

    /// This process's test folders, all in one, removed when it exits (a crashed run
    /// leaves its own behind): a run of the suite makes thousands.
    static let temporaryRoot: String = {
        let path = NSTemporaryDirectory() + "wavehost-dashboard-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: DashboardFixtures.temporaryRoot) }
        return path
    }()

    static func temporaryDirectory() throws -> String {
        let path = temporaryRoot + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    struct ProcessResult {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs a program to completion, stdout and stderr through files (neither can fill a
    /// pipe and stall it), with posix_spawn and waitpid.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        let folder = try temporaryDirectory()
        let outPath = folder + "/stdout", errPath = folder + "/stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw SetupError("cannot run \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ProcessResult(status: exitCode, output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                             error: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Store {
    func rows(_ sql: String) throws -> [[SQLValue]] {
        try withConnection { connection throws(StoreError) in try connection.query(sql) }
    }

    func count(_ sql: String) throws -> Int { Int(try rows(sql).first?.first?.integer ?? -1) }
}

extension DashboardResponse {
    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    var json: JSON? { try? JSON.parse(body) }
}

/// How many `<g class="series" …>` each `<svg>` of `html` holds, in order.
func seriesPerPlot(_ html: String) -> [Int] {
    html.components(separatedBy: "<svg").dropFirst().map { plot in
        let body = plot.components(separatedBy: "</svg>").first ?? ""
        return body.components(separatedBy: "class=\"series\"").count - 1
    }
}
