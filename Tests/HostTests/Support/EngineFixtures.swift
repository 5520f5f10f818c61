import Foundation
@testable import Host
import WavehostJSON

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
}
