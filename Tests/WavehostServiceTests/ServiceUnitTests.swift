import Foundation
import Logging
import Testing
import WavehostJSON
@testable import WavehostService

/// The service's small parts, without a process: addresses, the issue list, log lines.
@Suite struct ServiceUnitTests {
    @Test func addressesParseAndRefuseWithTheTextAtFault() throws {
        #expect(try ServiceAddress(parsing: "127.0.0.1:0") == ServiceAddress(host: "127.0.0.1", port: 0))
        #expect(try ServiceAddress(parsing: "[::1]:9464").description == "[::1]:9464")
        for bad in ["127.0.0.1", "127.0.0.1:70000", ":9464", "localhost:http"] {
            #expect { try ServiceAddress(parsing: bad) } throws: { error in
                (error as? ServeError)?.message.hasPrefix("--http \(bad):") == true
            }
        }
    }

    @Test func backgroundIssuesKeepTheNewestUpToTheirCapacity() {
        let issues = BackgroundIssues(capacity: 3)
        for number in 0..<5 { issues.report("canary", "tick \(number) failed") }
        #expect(issues.recent.map(\.message) == ["tick 2 failed", "tick 3 failed", "tick 4 failed"])
        #expect(issues.recent.allSatisfy { $0.task == "canary" })
    }

    @Test func anErrorEveryPassIsOneEntryThatCountsItsRepeats() {
        let issues = BackgroundIssues(capacity: 3)
        issues.report("subjects", "subjects.jsonl:2: not JSON")
        for _ in 0..<500 { issues.report("pinning", "hash ab12 is not approved") }
        issues.report("subjects", "subjects.jsonl:2: not JSON")
        #expect(issues.recent.map(\.task) == ["subjects", "pinning", "subjects"])
        #expect(issues.recent.map(\.repeats) == [1, 500, 1])
    }

    @Test func aJSONLogLineIsOneObjectWithTheAgreedFields() throws {
        let line = JSONLogHandler.line(time: Date(timeIntervalSince1970: 0), level: .warning, label: "wavehost.reload",
                                       message: "rejected \"x.so\"\nsecond line",
                                       metadata: ["actor": "echo-c", "sizes": [.string("1"), .stringConvertible(2)]])
        #expect(!line.contains("\n"))
        let json = try JSON.parse(Array(line.utf8))
        #expect(json["time"]?.stringValue == "1970-01-01T00:00:00.000Z")
        #expect(json["level"]?.stringValue == "warning")
        #expect(json["label"]?.stringValue == "wavehost.reload")
        #expect(json["message"]?.stringValue == "rejected \"x.so\"\nsecond line")
        #expect(json["metadata"]?["actor"]?.stringValue == "echo-c")
        #expect(json["metadata"]?["sizes"] == .array([.string("1"), .string("2")]))
    }

    @Test func logLevelsAreNamedAsSwiftLogNamesThem() {
        #expect(ServiceLogging.level(named: "TRACE") == .trace)
        #expect(ServiceLogging.level(named: "critical") == .critical)
        #expect(ServiceLogging.level(named: "verbose") == nil)
    }
}
