// swift-tools-version: 6.1
// The SDK for actor authors, a package of its own so that an actor depends on it without
// resolving or compiling any of the host's dependencies: the C ABI header and its JSON helper
// (ActorABI), the actor model (ActorModel), Foundation-free JSON (WavehostJSON) and the Swift
// SDK (ActorKit). The host depends on it by path.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// For the modules the sandbox worker links: without the implicit imports of Concurrency and
/// StringProcessing the worker loads 7 libraries instead of 14, which halves a Swift program's
/// start (3.2 → 1.6 ms here).
let workerSettings = swiftSettings + [
    .unsafeFlags(["-Xfrontend", "-disable-implicit-concurrency-module-import",
                  "-Xfrontend", "-disable-implicit-string-processing-module-import"]),
]

let package = Package(
    name: "ActorKit",
    products: [
        .library(name: "ActorKit", targets: ["ActorKit"]),
        .library(name: "ActorABI", targets: ["ActorABI"]),
        .library(name: "ActorModel", targets: ["ActorModel"]),
        .library(name: "WavehostJSON", targets: ["WavehostJSON"]),
    ],
    targets: [
        .target(name: "ActorABI"),
        .target(name: "WavehostJSON", swiftSettings: workerSettings),
        .target(name: "ActorModel", dependencies: ["ActorABI", "WavehostJSON"], swiftSettings: workerSettings),
        .target(name: "ActorKit", dependencies: ["ActorABI", "ActorModel", "WavehostJSON"], swiftSettings: swiftSettings),
    ]
)
