import Foundation

/// The files of a new actor project: the bundled example for a language, read from a
/// Wavehost checkout and renamed. Copying the examples (rather than keeping templates of
/// their own) means a generated project is exactly what the test suite builds and checks.
struct ActorTemplate {
    let name: String
    let checkout: String

    struct File {
        var path: String
        var contents: String
        var executable = false
    }

    struct MissingFile: Error, CustomStringConvertible {
        let path: String
        var description: String { "the checkout has no \(path): give a complete Wavehost checkout with --sdk" }
    }

    /// What the descriptor accepts, and a letter first so the name makes identifiers too.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.utf8.count <= 64 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    static func isCheckout(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/Plugins/EchoC/echo.c")
    }

    /// The checkout holding the running executable (`.build/<config>/wavehost`), if any.
    static func checkoutOfThisExecutable() -> String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while folder.path != "/" {
            if isCheckout(folder.path) { return folder.path }
            folder.deleteLastPathComponent()
        }
        return nil
    }

    /// `salary-check` → `salary_check`, for C and Rust identifiers and library names.
    var snakeName: String { name.replacingOccurrences(of: "-", with: "_") }
    /// `salary-check` → `SalaryCheck`, for Swift types and SwiftPM targets.
    var typeName: String {
        name.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The folder holding `wavehost/actor_abi.h` and `wavehost/actor_json.h`.
    var headerDirectory: String { checkout + "/ActorKit/Sources/ActorABI/include" }

    private func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: checkout + "/" + path) else { throw MissingFile(path: path) }
        return String(decoding: data, as: UTF8.self)
    }

    func files(for language: NewActorCommand.Language) throws -> [File] {
        switch language {
        case .c: return try cFiles()
        case .rust: return try rustFiles()
        case .python: return try pythonFiles()
        case .swift: return try swiftFiles()
        }
    }

    private func cFiles() throws -> [File] {
        let source = try read("Plugins/EchoC/echo.c")
            .replacingOccurrences(of: "echo-c", with: name)
            .replacingOccurrences(of: "echo.c: \(name), the example Wavehost actor in plain C. Copy this file to start your own.",
                                  with: "\(name).c: \(name), a Wavehost actor in C (made from echo-c, the example).")
            .replacingOccurrences(of: "-I <wavehost>/ActorKit/Sources/ActorABI/include echo.c -o libEchoC.so",
                                  with: "-I include \(name).c -o lib\(snakeName).so")
        let makefile = """
            # Builds lib\(snakeName).so with a C compiler and the two headers in include/.
            #   make          -> lib\(snakeName).so
            #   make clean
            HEADER_DIR ?= include
            CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Wpedantic

            lib\(snakeName).so: \(name).c $(HEADER_DIR)/wavehost/actor_abi.h $(HEADER_DIR)/wavehost/actor_json.h
            \t$(CC) $(CFLAGS) -shared -fPIC -I $(HEADER_DIR) \(name).c $(LDFLAGS) -o $@

            clean:
            \trm -f lib\(snakeName).so

            .PHONY: clean

            """
        return [
            File(path: "\(name).c", contents: source),
            File(path: "Makefile", contents: makefile),
            File(path: "include/wavehost/actor_abi.h", contents: try read("ActorKit/Sources/ActorABI/include/wavehost/actor_abi.h")),
            File(path: "include/wavehost/actor_json.h", contents: try read("ActorKit/Sources/ActorABI/include/wavehost/actor_json.h")),
            File(path: ".gitignore", contents: "*.so\n"),
            File(path: "README.md", contents: readme(language: "C", build: "make", library: "lib\(snakeName).so", edit: """
                - `\(name).c`: the actor. It starts as a copy of echo-c, the example, which wraps its input \
                under a key: change `echo_invoke` to do your work, `read_config` for your options, and the \
                descriptor's schemas and examples (the checker runs the examples).
                - `include/wavehost/`: the ABI (`actor_abi.h`, the whole contract) and the JSON helper \
                (`actor_json.h`: strict checks, readers by path, a writer that escapes). Keep them as they are.
                """)),
        ]
    }

    private func rustFiles() throws -> [File] {
        let library = try read("Plugins/WordCountRust/src/lib.rs")
            .replacingOccurrences(of: "word-count", with: name)
            .replacingOccurrences(of: "//! \(name): the example Wavehost actor in Rust. Copy this crate to start your own.",
                                  with: "//! \(name): a Wavehost actor in Rust (made from word-count, the example).")
            .replacingOccurrences(of: "WordCount", with: typeName)
        let manifest = """
            # \(name): a Wavehost actor in Rust. No crates: only std and the C ABI.
            [package]
            name = "\(name)"
            version = "1.0.0"
            edition = "2021"
            publish = false

            [lib]
            name = "\(snakeName)"          # builds lib\(snakeName).so
            crate-type = ["cdylib"]
            path = "src/lib.rs"

            [profile.release]
            opt-level = 2

            """
        return [
            File(path: "Cargo.toml", contents: manifest),
            File(path: "src/lib.rs", contents: library),
            File(path: "src/abi.rs", contents: try read("Plugins/WordCountRust/src/abi.rs")),
            File(path: "src/json.rs", contents: try read("Plugins/WordCountRust/src/json.rs")),
            File(path: ".gitignore", contents: "/target\n"),
            File(path: "README.md", contents: readme(language: "Rust", build: "cargo build --release",
                                                     library: "target/release/lib\(snakeName).so", edit: """
                - `src/lib.rs`: the actor. It starts as a copy of word-count, the example, which counts the \
                words of a text: change `count` to do your work, `from_config` for your options, and the \
                descriptor's schemas and examples (the checker runs the examples).
                - `src/abi.rs`: the ABI as `#[repr(C)]` types; `src/json.rs`: a strict JSON parser. No crates needed.
                """)),
        ]
    }

    private func pythonFiles() throws -> [File] {
        let script = try read("Plugins/Scripts/word-count.py")
            .replacingOccurrences(of: "\"\"\"word-count: an example script actor. Copy it to write actors in any language.",
                                  with: "\"\"\"\(name): a Wavehost script actor (made from word-count, the example).")
        return [
            File(path: "\(name).py", contents: script, executable: true),
            File(path: "\(name).examples.json", contents: try read("Plugins/Scripts/word-count.examples.json")),
            File(path: "README.md", contents: readme(language: "Python", build: nil, library: "\(name).py", edit: """
                - `\(name).py`: the actor, a script that reads one JSON document on stdin and writes one on \
                stdout (a message on stderr and a non-zero exit refuse the input). It starts as a copy of \
                word-count, the example.
                - `\(name).examples.json`: its examples, which `plugins check` runs: keep them true as you change it.
                """)),
        ]
    }

    private func swiftFiles() throws -> [File] {
        let source = try read("Plugins/JSONTransform/JSONTransform.swift")
            .replacingOccurrences(of: "JSONTransform", with: typeName)
            .replacingOccurrences(of: "json-transform", with: name)
        let manifest = """
            // swift-tools-version: 6.1
            // \(name): a Wavehost actor in Swift. It depends on ActorKit alone: none of the host's packages.
            import PackageDescription

            let package = Package(
                name: "\(name)",
                products: [.library(name: "\(typeName)", type: .dynamic, targets: ["\(typeName)"])],
                dependencies: [.package(path: "\(checkout)/ActorKit")],
                targets: [
                    .target(name: "\(typeName)", dependencies: [.product(name: "ActorKit", package: "ActorKit")],
                            swiftSettings: [.swiftLanguageMode(.v6)]),
                ]
            )

            """
        return [
            File(path: "Package.swift", contents: manifest),
            File(path: "Sources/\(typeName)/\(typeName).swift", contents: source),
            File(path: ".gitignore", contents: ".build/\nPackage.resolved\n"),
            File(path: "README.md", contents: readme(language: "Swift", build: "swift build",
                                                     library: ".build/debug/lib\(typeName).so", edit: """
                - `Sources/\(typeName)/\(typeName).swift`: the actor. It starts as a copy of json-transform, the \
                example, which reshapes a JSON object: change `handle` to do your work, `init(config:host:)` \
                for your options, and `info`'s schemas and examples (the checker runs the examples).
                - `Package.swift`: depends on ActorKit in the Wavehost checkout at `\(checkout)`. Build the \
                plugin with the same Swift toolchain as the host (docs/abi.md §9).
                """)),
        ]
    }

    private func readme(language: String, build: String?, library: String, edit: String) -> String {
        """
        # \(name)

        A Wavehost actor in \(language), made with `wavehost new actor \(name) --lang \(language.lowercased())`.

        ## Build, check, run
        ```sh
        \(build.map { "\($0)\n" } ?? "")wavehost plugins check \(library)      # the conformance suite: all PASS
        wavehost invoke \(library) --input @input.json
        ```

        ## What to change
        \(edit)

        The ABI and its rules: docs/abi.md in the Wavehost checkout (\(checkout)).

        """
    }

    func nextSteps(for language: NewActorCommand.Language, folder: String) -> [String] {
        switch language {
        case .c: return ["cd \(folder) && make", "wavehost plugins check \(folder)/lib\(snakeName).so"]
        case .rust: return ["cd \(folder) && cargo build --release",
                            "wavehost plugins check \(folder)/target/release/lib\(snakeName).so"]
        case .swift: return ["cd \(folder) && swift build", "wavehost plugins check \(folder)/.build/debug/lib\(typeName).so"]
        case .python: return ["wavehost plugins check \(folder)/\(name).py"]
        }
    }
}
