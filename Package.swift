// swift-tools-version: 6.1
import PackageDescription

/// Release builds optimise across modules: the layer split put the engine's hot calls into
/// the store, sandbox and routing modules, and without it the engine lost about 10 % of its
/// durable interactions per second (measured, tools/bench engine).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

/// For the worker and the modules it links: without the implicit imports of Concurrency and
/// StringProcessing it loads 7 libraries instead of 14, which halves a Swift program's
/// start (3.2 → 1.6 ms here). A Swift plugin brings them when it loads; a C plugin never.
let workerSettings = swiftSettings + [
    .unsafeFlags(["-Xfrontend", "-disable-implicit-concurrency-module-import",
                  "-Xfrontend", "-disable-implicit-string-processing-module-import"]),
]

/// A shipping plugin: its own folder under Plugins/ and its own dynamic product.
/// The explicit `path:` matters: SwiftPM otherwise reads Plugins/ as package plugins.
func actorPlugin(_ name: String, swift: Bool, dependencies: [Target.Dependency] = []) -> (Product, Target) {
    let product = Product.library(name: name, type: .dynamic, targets: [name])
    let target: Target = swift
        ? .target(name: name, dependencies: [sdk("ActorKit")] + dependencies, path: "Plugins/\(name)",
                  exclude: ["README.md"], swiftSettings: swiftSettings)
        : .target(name: name, dependencies: [sdk("ActorABI")], path: "Plugins/\(name)",
                  exclude: ["README.md", "Makefile"], publicHeadersPath: ".")
    return (product, target)
}

/// A module of the SDK, the nested package ActorKit/ (actors build against it without the host).
func sdk(_ module: String) -> Target.Dependency { .product(name: module, package: "ActorKit") }

let plugins = [
    actorPlugin("EchoC", swift: false),
    actorPlugin("URLProbe", swift: false),
    actorPlugin("FieldValidator", swift: true, dependencies: ["FieldRules"]),
    actorPlugin("StagingValidator", swift: true, dependencies: ["FieldRules"]),
    actorPlugin("JSONTransform", swift: true),
    // libcurl only for its URL parser: the host makes the requests (the HTTP host service).
    actorPlugin("HTTPFetcher", swift: true, dependencies: ["CCurl"]),
    actorPlugin("LLMGrader", swift: true),
    actorPlugin("ComplianceChecker", swift: true, dependencies: ["SuiteRules"]),
    actorPlugin("ComplianceStatus", swift: true, dependencies: ["SuiteRules"]),
]

let package = Package(
    name: "wavehost",
    products: [
        .executable(name: "wavehost", targets: ["wavehost"]),
        .executable(name: "wavehost-worker", targets: ["wavehost-worker"]),
        .library(name: "WavehostEngine", targets: ["WavehostEngine"]),
    ] + plugins.map(\.0),
    dependencies: [
        .package(path: "ActorKit"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(name: "CWavehostShims"),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Code shared by two example actors (field rules): a static library they embed.
        .target(name: "FieldRules", dependencies: [sdk("ActorKit")], path: "Plugins/FieldRules", swiftSettings: swiftSettings),
        // The compliance suite's source and naming rules, which its checker and its status step must share.
        .target(name: "SuiteRules", dependencies: [sdk("ActorKit")], path: "Plugins/SuiteRules", swiftSettings: swiftSettings),
        // libcurl for the host's HTTP service, in a module of its own (see CurlURL.swift for why).
        .target(name: "HostCurl", dependencies: ["CCurl"], swiftSettings: swiftSettings),
        .target(name: "ActorRuntime", dependencies: [sdk("ActorABI"), sdk("ActorModel"), sdk("WavehostJSON")], swiftSettings: workerSettings),
        // The host's layers, bottom up from WavehostHash to WavehostEngine: each depends only on layers listed before it.
        // The SHA-256 of files and bytes, as hex: an actor version's identity, an event's checksum.
        .target(name: "WavehostHash", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        // The name of every metric the host records, in one table (the instruments are made where they are recorded).
        .target(name: "WavehostMetrics", swiftSettings: swiftSettings),
        // Persistence only: SQLite and PostgreSQL, migrations, the records in the store's own vocabulary.
        .target(name: "WavehostStore", dependencies: [
            "CSQLite", "CLibPQ", sdk("WavehostJSON"), "WavehostHash", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // Workers, pools, deadlines, the sandbox's layers, scripts, and the host services a worker's actor calls (HTTP).
        .target(name: "WavehostSandbox", dependencies: [
            sdk("ActorABI"), "ActorRuntime", "CWavehostShims", "HostCurl", "WavehostHash", sdk("WavehostJSON"), "WavehostMetrics",
            .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: swiftSettings),
        // Plugins: the content-addressed cache, descriptors read through a worker, the loader, trust, the watcher.
        .target(name: "WavehostPlugins", dependencies: [
            sdk("ActorABI"), "ActorRuntime", "CWavehostShims", "WavehostHash", sdk("WavehostJSON"), "WavehostSandbox",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // Pure routing decisions: the sticky choice, the verdict, a canary's step (no SQL, no I/O).
        .target(name: "WavehostRouting", dependencies: [sdk("WavehostJSON")], swiftSettings: swiftSettings),
        // Workflows, scheduling, the journal, effects, hot reload: composes the layers below.
        .target(
            name: "WavehostEngine",
            dependencies: [
                "ActorRuntime", sdk("WavehostJSON"), "WavehostMetrics", "WavehostPlugins", "WavehostRouting", "WavehostSandbox", "WavehostStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                // The API only: with no backend bootstrapped every instrument is a no-op.
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The long-lived host: service lifecycle, logging, metrics and the HTTP server.
        .target(
            name: "WavehostService",
            dependencies: [
                "WavehostEngine", "WavehostDashboard", "WavehostMetrics", "WavehostPlugins", "WavehostRouting", "WavehostStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The web dashboard's pages and JSON API, as a function from request to response (no HTTP server).
        .target(name: "WavehostDashboard", dependencies: ["WavehostEngine", sdk("WavehostJSON"), "WavehostRouting", "WavehostStore"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "wavehost",
            dependencies: [
                "WavehostDashboard", "WavehostEngine", "WavehostHash", "WavehostPlugins", "WavehostRouting", "WavehostSandbox",
                "WavehostService", "WavehostStore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "wavehost-worker",
            dependencies: ["ActorRuntime", "CWavehostShims", sdk("WavehostJSON")],
            swiftSettings: workerSettings
        ),
        .executableTarget(name: "wavehost-bench", dependencies: [
            "WavehostEngine", "CCurl", "CWavehostShims", "WavehostHash", "WavehostPlugins", "WavehostRouting", "WavehostSandbox", "WavehostService", "WavehostStore",
            "WavehostDashboard", .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "tools/bench-src", swiftSettings: swiftSettings),
        .testTarget(name: "WavehostJSONTests", dependencies: [sdk("WavehostJSON")], swiftSettings: swiftSettings),
        // The host's tests, across its layers (each file imports the modules it tests).
        .testTarget(name: "HostTests", dependencies: [
            "ActorRuntime", "WavehostEngine", "WavehostHash", "WavehostPlugins", "WavehostRouting", "WavehostSandbox", "WavehostStore",
        ], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "WavehostDashboardTests", dependencies: [
            "WavehostDashboard", "WavehostEngine", "WavehostHash", sdk("WavehostJSON"), "WavehostPlugins", "WavehostRouting", "WavehostStore",
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "WavehostServiceTests", dependencies: [
            "WavehostService", sdk("WavehostJSON"), .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
    ] + plugins.map(\.1)
)
