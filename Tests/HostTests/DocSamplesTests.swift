import Foundation
import Testing
import WavehostEngine

/// docs/abi.md tells the truth: its C samples compile, its Swift samples type-check against
/// ActorKit, and its promises (§2.12) are the header's, word for word.
@Suite struct DocSamplesTests {
    static let abiDoc = TestPlugins.repositoryRoot + "/docs/abi.md"
    static let header = TestPlugins.headerDirectory + "/wavehost/actor_abi.h"

    /// The fenced blocks of `language` in `markdown`, with the line each starts on.
    static func blocks(_ language: String, in markdown: String) -> [(line: Int, code: String)] {
        var found: [(Int, String)] = []
        var current: [Substring]?
        var start = 0
        for (number, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if current == nil, line == "```" + language { current = []; start = number + 2 }
            else if current != nil, line == "```" { found.append((start, current!.joined(separator: "\n") + "\n")); current = nil }
            else { current?.append(line) }
        }
        return found
    }

    /// The workflow files docs/workflows.md and docs/tables.md show are ones the parser takes.
    @Test func everyWorkflowSampleParses() throws {
        var parsed = 0
        for name in ["workflows", "tables"] {
            let doc = try String(contentsOfFile: TestPlugins.repositoryRoot + "/docs/\(name).md", encoding: .utf8)
            for sample in Self.blocks("yaml", in: doc) where sample.code.hasPrefix("workflow:") {
                // The tables sample declares tables only; give it a step to be a whole file.
                let code = sample.code.contains("\nsteps:") ? sample.code : sample.code + "steps:\n  only: {actor: echo-c}\n"
                do { _ = try WorkflowParser(file: "docs/\(name).md").parse(code) } catch {
                    Issue.record("docs/\(name).md, sample at line \(sample.line): \(error)")
                }
                parsed += 1
            }
        }
        #expect(parsed >= 2)
    }

    @Test func everyCSampleCompiles() throws {
        let doc = try String(contentsOfFile: Self.abiDoc, encoding: .utf8)
        let samples = Self.blocks("c", in: doc)
        #expect(samples.count >= 5)
        let folder = try TestPlugins.temporaryDirectory()
        for sample in samples {
            // A sample is a whole file, or the body of a function that has `host` and `url` at hand.
            // The struct excerpts of §2.4.1 restate the header's types, so they compile without it.
            let restatesTheHeader = sample.code.contains("typedef struct wh_")
            let includes = restatesTheHeader ? "#include <stddef.h>\n#include <stdint.h>\n"
                : "#include <string.h>\n#include <wavehost/actor_abi.h>\n#include <wavehost/actor_json.h>\n"
            let forms = [includes + sample.code,
                         includes + "void sample(const wh_host_services *host, const char *url);\n"
                             + "void sample(const wh_host_services *host, const char *url) {\n" + sample.code + "}\n"]
            var errors: [String] = []
            for (index, form) in forms.enumerated() {
                let source = folder + "/sample-\(sample.line)-\(index).c"
                try form.write(toFile: source, atomically: true, encoding: .utf8)
                let result = try TestPlugins.run("/usr/bin/env", ["cc", "-std=c11", "-fsyntax-only", "-Wall", "-Wno-unused-function",
                                                                  "-Wno-unused-variable", "-Wno-unused-but-set-variable",
                                                                  "-I", TestPlugins.headerDirectory, source])
                if result.status == 0 { errors = []; break }
                errors.append(result.error)
            }
            #expect(errors.isEmpty, "docs/abi.md:\(sample.line): the C sample does not compile:\n\(errors.joined(separator: "\n"))")
        }
    }

    @Test func everySwiftSampleTypeChecksAgainstActorKit() throws {
        let doc = try String(contentsOfFile: Self.abiDoc, encoding: .utf8)
        let samples = Self.blocks("swift", in: doc)
        #expect(!samples.isEmpty)
        let swiftc = try #require(ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
            .map { "\($0)/swiftc" }.first { FileManager.default.isExecutableFile(atPath: $0) }, "swiftc is not on PATH")
        let folder = try TestPlugins.temporaryDirectory()
        for sample in samples {
            let source = folder + "/sample-\(sample.line).swift"
            try sample.code.write(toFile: source, atomically: true, encoding: .utf8)
            let result = try TestPlugins.run(swiftc, ["-typecheck", "-parse-as-library", "-I", TestPlugins.productsDirectory + "/Modules",
                                                      "-I", TestPlugins.headerDirectory, source])
            #expect(result.status == 0, "docs/abi.md:\(sample.line): the Swift sample does not type-check:\n\(result.error)")
        }
    }

    /// The bullets of §2.12 and of the header's "promises" block, each joined into one line.
    @Test func thePromisesAreTheHeadersWordForWord() throws {
        let doc = try String(contentsOfFile: Self.abiDoc, encoding: .utf8)
        let header = try String(contentsOfFile: Self.header, encoding: .utf8)
        let section = try #require(doc.range(of: "### 2.12 Promises"))
        let sectionEnd = try #require(doc.range(of: "\n## ", range: section.upperBound..<doc.endIndex))
        let documented = Self.bullets(doc[section.upperBound..<sectionEnd.lowerBound].split(separator: "\n").map { line in
            line.hasPrefix("- ") ? "- " + line.dropFirst(2) : line.hasPrefix("  ") ? line.dropFirst(2) : line[...]
        }).map { $0.replacingOccurrences(of: "**", with: "") }
        let block = try #require(header.range(of: "/* -------------------------------------------------------------- promises */"))
        let blockEnd = try #require(header.range(of: " */", range: block.upperBound..<header.endIndex))
        let declared = Self.bullets(header[block.upperBound..<blockEnd.lowerBound].split(separator: "\n").map { line in
            line.hasPrefix(" *  - ") ? "- " + line.dropFirst(6) : line.hasPrefix(" *    ") ? line.dropFirst(6) : line[...]
        })
        #expect(documented.count == 4)
        #expect(documented == declared)
    }

    private static func bullets(_ lines: [Substring]) -> [String] {
        var items: [String] = []
        var inBullet = false
        for line in lines {
            if line.hasPrefix("- ") { items.append(String(line.dropFirst(2))); inBullet = true }
            else if inBullet, !line.isEmpty, !line.hasPrefix(" *"), !line.hasPrefix("/*") { items[items.count - 1] += " " + line }
            else { inBullet = false }
        }
        return items
    }
}
