import Foundation
@testable import WavehostEngine
import WavehostJSON
@testable import WavehostPlugins
@testable import WavehostStore

/// Stores, catalogs and workflows for the engine tests: real databases, real plugins.
enum EngineFixtures {
    /// A new, empty store of `backend`.
    static func store(_ backend: Backend) throws -> Store {
        switch backend {
        case .sqlite: try Store(location: try TestPlugins.temporaryDirectory() + "/wavehost.db")
        case .postgres: try Store(location: try PostgresServer.makeDatabase())
        }
    }

    /// A catalog holding the named products (`EchoC`, `StagingValidator`…) and files.
    /// `trusting` names the products (or files) whose hashes may run in-process
    /// (`isolation: inprocess`); nothing else is trusted.
    static func catalog(_ products: [String], files: [String] = [], trusting: [String] = []) throws -> ActorCatalog {
        let trusted = try trusting.map { products.contains($0) ? try TestPlugins.product($0) : $0 }
        let catalog = ActorCatalog(registry: PluginRegistry(loader: try TestPlugins.loader(trusting: trusted, shipping: false)))
        for product in products { try catalog.add(try TestPlugins.product(product)) }
        for file in files { try catalog.add(file) }
        return catalog
    }

    static func workflow(_ yaml: String, file: String = "test.yaml") throws -> WorkflowDefinition {
        try WorkflowParser(file: file).parse(yaml)
    }

    /// Runs `yaml` over `subjects` to the end.
    @discardableResult
    static func run(_ yaml: String, _ subjects: [Subject], store: Store, catalog: ActorCatalog,
                    options: Engine.Options = Engine.Options()) throws -> Engine.Progress {
        try Engine(store: store, catalog: catalog, options: options).run(try workflow(yaml), source: yaml, subjects: subjects)
    }

    static func subjects(_ count: Int, _ payload: (Int) -> JSON = { ["n": .integer($0)] }) -> [Subject] {
        (0..<count).map { Subject(key: "s\($0)", payload: payload($0)) }
    }
}

extension Store {
    /// One integer from `sql`, for assertions.
    func count(_ sql: String) throws -> Int {
        try withConnection { connection throws(StoreError) in Int(try connection.query(sql).first?.first?.integer ?? -1) }
    }

    func rows(_ sql: String) throws -> [[SQLValue]] {
        try withConnection { connection throws(StoreError) in try connection.query(sql) }
    }

    /// Per run, each named step's interaction as the span from its start to its end (Unix
    /// milliseconds); `completedOnly` leaves out failed attempts.
    func spans(of steps: [String], completedOnly: Bool = false) throws -> [Int64: [String: ClosedRange<Int64>]] {
        let names = steps.map { "'\($0)'" }.joined(separator: ", ")
        var spans: [Int64: [String: ClosedRange<Int64>]] = [:]
        for row in try rows("""
            SELECT i.run_id, s.name, i.started_at, i.completed_at FROM interactions i JOIN steps s ON s.id = i.step_id \
            WHERE s.name IN (\(names))\(completedOnly ? " AND i.status = 'completed'" : "")
            """) {
            guard let run = row[0].integer, let step = row[1].text, let from = row[2].integer, let to = row[3].integer else { continue }
            spans[run, default: [:]][step] = from...to
        }
        return spans
    }
}
