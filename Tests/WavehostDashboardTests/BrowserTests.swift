import Foundation
import Testing
import WavehostDashboard
@testable import WavehostEngine

/// The pages as a browser sees them: Debian's headless Chromium renders the report file
/// and the status page, its DOM is counted for plot series, and a screenshot of each is
/// kept (under the test's folder, and a copy under .build/test-artifacts/).
@Suite(.serialized, .enabled(if: Browser.path != nil, "chromium is not installed and tools/setup could not install it (apt)"))
struct BrowserTests {
    @Test func theReportRendersWithEveryPlotAndItsSeries() throws {
        let fixture = try DashboardFixtures.populated()
        let folder = try DashboardFixtures.temporaryDirectory()
        let file = folder + "/report.html"
        let result = try DashboardFixtures.run(DashboardFixtures.cli, ["report", "dash.summary", "--html", file, "--quality", "quality.bytes",
                                                                       "--minimum", "50", "--database", fixture.location])
        #expect(result.status == 0, "\(result.error)")
        let dom = try Browser.dumpDOM(file)
        #expect(seriesPerPlot(dom) == [2, 2, 2, 1], "success, latency and quality per variant; one canary: \(seriesPerPlot(dom))")
        #expect(dom.contains("dash / summary") && dom.contains(">promote</span>"))
        try Browser.screenshot(file, name: "report")
    }

    @Test func theStatusPageRenders() throws {
        let fixture = try DashboardFixtures.populated()
        let folder = try DashboardFixtures.temporaryDirectory()
        let dashboard = DashboardFixtures.dashboard(fixture.store, issues: [
            BackgroundIssue(time: Date().addingTimeInterval(-90), task: "canary ticker", message: "database unavailable: connection refused"),
        ])
        for (name, path) in [("status", "/"), ("step", "/steps/dash/summary"), ("reviews", "/reviews")] {
            let response = dashboard.respond(DashboardFixtures.get(path, query: path.hasPrefix("/steps") ? ["quality": "quality.bytes", "minimum": "50"] : [:]))
            #expect(response.status == 200)
            let file = folder + "/\(name).html"
            try Data(response.body).write(to: URL(fileURLWithPath: file))
            let dom = try Browser.dumpDOM(file)
            #expect(dom.contains("<h2>"), "\(name) rendered: \(dom.prefix(300))")
            if name == "step" { #expect(seriesPerPlot(dom) == [2, 2, 2, 1]) }
            if name == "status" {
                #expect(dom.contains("Background issues") && dom.contains("canary ticker"))
                #expect(!dom.contains(DashboardFixtures.hostileKey), "the hostile error stays text after parsing")
            }
            try Browser.screenshot(file, name: name)
        }
    }
}

/// Headless Chromium, found or installed once.
enum Browser {
    static let path: String? = {
        if let found = find() { return found }
        // Not installed: tools/setup installs it with apt (as root, or with sudo).
        let setup = DashboardFixtures.repositoryRoot + "/tools/setup"
        let result = try? DashboardFixtures.run("/bin/bash", [setup])
        if let result, result.status != 0 { print("BrowserTests: tools/setup failed (\(result.status)): \(result.error.suffix(400))") }
        return find()
    }()

    private static func find() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func arguments(_ extra: [String]) throws -> [String] {
        // A profile of its own per call, so runs side by side never share one.
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--user-data-dir=\(try DashboardFixtures.temporaryDirectory())/profile"] + extra
    }

    /// A page's address: an http(s) URL as given, a file as a file:// URL.
    private static func url(_ target: String) -> String { target.hasPrefix("http") ? target : "file://" + target }

    /// The DOM after Chromium parsed and rendered `file` (or an http URL).
    static func dumpDOM(_ file: String) throws -> String {
        let result = try DashboardFixtures.run(path!, try arguments(["--dump-dom", url(file)]))
        guard result.status == 0, !result.output.isEmpty else {
            throw SetupError("chromium --dump-dom failed (\(result.status)): \(result.error.suffix(600))")
        }
        return result.output
    }

    /// A 1280 × 2000 screenshot of `file`, kept beside it and copied to .build/test-artifacts/.
    @discardableResult
    static func screenshot(_ file: String, name: String) throws -> String {
        let png = file.hasPrefix("http") ? try DashboardFixtures.temporaryDirectory() + "/\(name).png"
                                         : URL(fileURLWithPath: file).deletingPathExtension().path + ".png"
        let result = try DashboardFixtures.run(path!, try arguments(["--screenshot=\(png)", "--window-size=1280,2000",
                                                                     "--hide-scrollbars", url(file)]))
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: png))) ?? Data()
        guard result.status == 0, bytes.count > 8, bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw SetupError("chromium --screenshot made no PNG (\(result.status)): \(result.error.suffix(600))")
        }
        // The PNG's IHDR holds its width: the window's, or the page did not render at that size.
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1280, "screenshot of \(name) is \(width) px wide")
        let artifacts = DashboardFixtures.repositoryRoot + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let copy = artifacts + "/dashboard-\(name).png"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: png, toPath: copy)
        print("BrowserTests: screenshot of \(name) at \(png) (copy: \(copy))")
        return png
    }
}
