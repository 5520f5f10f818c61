import Foundation
import Testing
@testable import WavehostDashboard
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostPlugins
import WavehostRouting
@testable import WavehostStore

/// The pages `Dashboard.respond` serves, over a store real runs filled.
@Suite struct PageTests {
    @Test func theStatusPageShowsWhatStatusReportsAndTheBackgroundIssues() throws {
        let fixture = try DashboardFixtures.populated()
        let issue = BackgroundIssue(time: Date(), task: "canary ticker", message: "database unavailable: <b>connection refused</b>")
        let response = DashboardFixtures.dashboard(fixture.store, issues: [issue]).respond(DashboardFixtures.get("/"))
        #expect(response.status == 200)
        #expect(response.contentType.hasPrefix("text/html"))
        let html = response.text
        let report = try fixture.store.status()
        for heading in ["Runs", "Interactions", "Steps", "Actors", "Recent errors", "Stale work", "Throughput", "Background issues"] {
            #expect(html.contains("<h2>\(heading)</h2>"), "missing section \(heading)")
        }
        #expect(html.contains("<b>\(report.runs.total)</b><span>total</span>"), "the runs' total from Store.status")
        #expect(html.contains("href=\"/steps/dash/summary\""), "each step links to its page")
        for actor in report.actors { #expect(html.contains(String(actor.sha256[0].prefix(12))), "actor \(actor.name)'s hash") }
        #expect(html.contains("canary ticker") && html.contains("database unavailable: &lt;b&gt;connection refused&lt;/b&gt;"))
        #expect(html.contains("1 open review") || html.contains("open reviews"), "open reviews are announced")
        // The refresh script runs under a nonce the CSP names, and only then.
        let csp = try #require(response.header("Content-Security-Policy"))
        let nonce = try #require(html.range(of: "<script nonce=\"").map { String(html[$0.upperBound...].prefix(32)) })
        #expect(csp.contains("script-src 'nonce-\(nonce)'") && csp.contains("default-src 'none'"))
        #expect(!html.contains("src=") && !html.contains("<link"), "no external assets")
        let links = html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(!links.isEmpty && links.allSatisfy { $0.hasPrefix("/") }, "links stay on the dashboard: \(links)")
    }

    /// Each declared table with its rows, its writes (ledger entries) and its workflows, on
    /// the page and in /api/status, as `Store.status` counts them.
    @Test func theStatusPageShowsRowsWrittenPerTable() throws {
        let folder = try DashboardFixtures.temporaryDirectory()
        let store = try Store(location: folder + "/wavehost.db")
        let echo = try DashboardFixtures.product("EchoC")
        let catalog = ActorCatalog(registry: PluginRegistry(loader: PluginLoader(cache: PluginCache(directory: folder + "/cache"),
                                                                                 trust: PluginTrust([try DashboardFixtures.sha256(echo)]))))
        try catalog.add(echo)
        // Two saves of each of 12 subjects into `seen`: 24 writes, 12 rows.
        let workflow = """
            workflow: tabled
            tables:
              seen: {columns: {id: text, n: integer}, key: id}
            steps:
              first: {actor: echo-c, isolation: inprocess, input: subject, save: {table: seen, rows: echo, subject: id}}
              second: {actor: echo-c, isolation: inprocess, input: subject, after: [first], save: {table: seen, rows: echo, subject: id}}
            """
        _ = try Engine(store: store, catalog: catalog).run(try WorkflowParser(file: "tabled.yaml").parse(workflow), source: workflow,
                                                           subjects: (0..<12).map { Subject(key: "t\($0)", payload: ["n": .integer($0)]) })
        let dashboard = DashboardFixtures.dashboard(store)
        let html = dashboard.respond(DashboardFixtures.get("/")).text
        #expect(html.contains("<h2>Tables</h2>"))
        let row = try #require(html.range(of: "<td>data.seen</td>").map { html[$0.lowerBound...].components(separatedBy: "</tr>")[0] })
        let cells = row.components(separatedBy: "</td>").map { $0.replacingOccurrences(of: #"<[^>]+>"#, with: "", options: .regularExpression) }
        #expect(Array(cells.prefix(4)) == ["data.seen", "12", "24", "24"], "rows, written last hour, written: \(cells)")
        #expect(cells.count > 5 && cells[5] == "tabled", "written by: \(cells)")
        let api = try #require(dashboard.respond(DashboardFixtures.get("/api/status")).json)
        let table = try #require(api["tables"]?.arrayValue?.first)
        #expect(table["name"] == "data.seen" && table["rows"]?.intValue == 12 && table["written_total"]?.intValue == 24)
        #expect(table["writers"] == ["tabled"] && table["readers"] == [])
        // The fixture's store declares no table: the section says so.
        let empty = DashboardFixtures.dashboard(try DashboardFixtures.populated().store).respond(DashboardFixtures.get("/")).text
        #expect(empty.contains("<h2>Tables</h2><p class=\"none\">no declared table</p>"))
    }

    @Test func anActorErrorHoldingAScriptIsEscapedEverywhere() throws {
        let fixture = try DashboardFixtures.populated()
        let report = try fixture.store.status(workflow: "hostile")
        #expect(report.errors.contains { $0.message.contains(DashboardFixtures.hostileKey) },
                "the real actor's error quotes the hostile config key (else this test proves nothing): \(report.errors.map(\.message))")
        let dashboard = DashboardFixtures.dashboard(fixture.store)
        for path in ["/", "/steps/hostile/only"] {
            let html = dashboard.respond(DashboardFixtures.get(path, query: path == "/" ? ["workflow": "hostile"] : [:])).text
            #expect(!html.contains(DashboardFixtures.hostileKey), "\(path) carries the raw <script>")
            #expect(html.contains("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"), "\(path) shows it escaped")
            #expect(html.components(separatedBy: "<script").count - 1 == 1, "\(path): only the page's own script")
        }
        // In JSON it is data, kept as it is.
        let api = try #require(dashboard.respond(DashboardFixtures.get("/api/status", query: ["workflow": "hostile"])).json)
        #expect(api["recent_errors"]?.arrayValue?.contains { $0["error"]?.stringValue?.contains(DashboardFixtures.hostileKey) == true } == true)
    }

    @Test func theStepPagePlotsOneSeriesPerVariantAndTheVerdictOfCompare() throws {
        let fixture = try DashboardFixtures.populated()
        let dashboard = DashboardFixtures.dashboard(fixture.store)
        let response = dashboard.respond(DashboardFixtures.get("/steps/dash/summary", query: ["quality": "quality.bytes", "minimum": "50"]))
        #expect(response.status == 200, "\(response.text.prefix(400))")
        let html = response.text
        // Success over time, latency, quality: one series per variant; the canary: one ramp.
        #expect(seriesPerPlot(html) == [2, 2, 2, 1], "\(seriesPerPlot(html))")
        for id in [fixture.championID, fixture.challengerID] { #expect(html.contains("data-variant=\"\(id)\"")) }
        #expect(html.contains("Success rate over time") && html.contains("Latency distribution") && html.contains("Quality scores (quality.bytes)"))
        #expect(html.contains("class=\"band\""), "Wilson bands are drawn")

        // The verdict is PromotionPolicy.decide over the same records, as `compare` prints it.
        var policy = PromotionPolicy()
        policy.minimumSample = 50
        let records = try fixture.store.variantRecords(workflow: "dash", step: "summary")
        let champion = try #require(records.first { $0.role == .champion })
        let challenger = try #require(records.first { $0.role == .challenger })
        let scores = try fixture.store.qualityScores(workflow: "dash", step: "summary", graderStep: "quality", field: ["bytes"])
        let verdict = policy.decide(champion: champion, challenger: challenger,
                                    quality: (scores[champion.variantID] ?? [], scores[challenger.variantID] ?? []))
        #expect(verdict.decision == .promote, "the challenger fails less and scores higher: \(verdict.reason)")
        #expect(html.contains(HTML.escape(verdict.reason)), "the page shows the verdict's reason")
        #expect(html.contains(">promote</span>"))

        // The same command-line verdict.
        let compare = try DashboardFixtures.run(DashboardFixtures.cli, ["compare", "summary", "--workflow", "dash", "--minimum", "50",
                                                                        "--quality", "quality.bytes", "--database", fixture.location])
        #expect(compare.status == 0, "\(compare.error)")
        #expect(compare.output.contains(verdict.reason), "compare prints the same verdict:\n\(compare.output)")
    }

    @Test func theCanaryStagesAreShownWithTheirState() throws {
        let fixture = try DashboardFixtures.populated()
        let ramps = try fixture.store.canaryRamps(workflow: "dash", step: "summary")
        let ramp = try #require(ramps.first)
        #expect(ramp.variantID == fixture.challengerID && ramp.schedule == [5, 10, 25, 50, 100])
        let html = DashboardFixtures.dashboard(fixture.store).respond(DashboardFixtures.get("/steps/dash/summary")).text
        #expect(html.contains("Canary stages"))
        #expect(html.contains("5% → 10% → 25% → 50% → 100%"))
        #expect(html.contains("<td>\(ramp.schedule[ramp.stage])%</td><td>\(ramp.state.replacingOccurrences(of: "_", with: " "))</td>"))
    }

    @Test func unknownPathsAre404AndWrongMethods405() throws {
        let fixture = try DashboardFixtures.populated()
        let dashboard = DashboardFixtures.dashboard(fixture.store)
        let missing = dashboard.respond(DashboardFixtures.get("/nope"))
        #expect(missing.status == 404 && missing.contentType.hasPrefix("text/html") && missing.text.contains("No page at /nope"))
        let missingAPI = dashboard.respond(DashboardFixtures.get("/api/nope"))
        #expect(missingAPI.status == 404 && missingAPI.json?["error"]?.stringValue != nil)
        let unknownStep = dashboard.respond(DashboardFixtures.get("/steps/dash/absent"))
        #expect(unknownStep.status == 404 && unknownStep.text.contains("no step absent"))
        #expect(dashboard.respond(DashboardFixtures.get("/steps/absent/summary")).status == 404)
        #expect(dashboard.respond(DashboardFixtures.get("/", query: ["workflow": "absent"])).status == 404)

        let wrongMethod = dashboard.respond(DashboardRequest(method: "DELETE", path: "/", query: [:], headers: [:], body: []))
        #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "GET, HEAD")
        let getAnAction = dashboard.respond(DashboardFixtures.get("/reviews/1/accept"))
        #expect(getAnAction.status == 405 && getAnAction.header("Allow") == "POST")
        let postAPage = dashboard.respond(DashboardFixtures.post("/api/status", form: [:]))
        #expect(postAPage.status == 405 && postAPage.json?["status"]?.intValue == 405)
        #expect(dashboard.respond(DashboardRequest(method: "HEAD", path: "/reviews", query: [:], headers: [:], body: [])).status == 200)
        #expect(dashboard.respond(DashboardFixtures.get("/steps/dash/summary", query: ["window": "-3"])).status == 400)
        // A percent-encoded segment reaches the step by its name.
        #expect(dashboard.respond(DashboardFixtures.get("/steps/d%61sh/summary")).status == 200)
    }

    @Test func theReportCommandWritesOneSelfContainedFile() throws {
        let fixture = try DashboardFixtures.populated()
        let file = try DashboardFixtures.temporaryDirectory() + "/report.html"
        let result = try DashboardFixtures.run(DashboardFixtures.cli, ["report", "dash.summary", "--html", file, "--quality", "quality.bytes",
                                                                       "--database", fixture.location])
        #expect(result.status == 0, "\(result.error)")
        let html = try String(contentsOfFile: file, encoding: .utf8)
        #expect(seriesPerPlot(html) == [2, 2, 2, 1])
        #expect(!html.contains("<script"), "a report runs nothing")
        #expect(!html.contains("href=") && !html.contains("src="), "a report links nowhere")
        #expect(html.contains("Content-Security-Policy"))

        let same = try DashboardFixtures.run(DashboardFixtures.cli, ["report", "summary", "--workflow", "dash", "--html", file + "2",
                                                                     "--database", fixture.location])
        #expect(same.status == 0, "\(same.error)")
        let unknown = try DashboardFixtures.run(DashboardFixtures.cli, ["report", "dash.absent", "--html", file, "--database", fixture.location])
        #expect(unknown.status == 2 && unknown.error.contains("no step absent"), "\(unknown.error)")
        let bare = try DashboardFixtures.run(DashboardFixtures.cli, ["report", "summary", "--html", file, "--database", fixture.location])
        #expect(bare.status != 0 && bare.error.contains("WORKFLOW.STEP"), "\(bare.error)")
    }
}

