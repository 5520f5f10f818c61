import ArgumentParser

/// The options of a command that runs workflows on this host (`run`, `load`): the store,
/// the actors to load and how many interactions run at once.
struct HostOptions: ParsableArguments {
    @Option(help: "The store: a SQLite file or a postgres:// URL. Defaults to $WAVEHOST_DATABASE_URL, else ./wavehost.db.")
    var database: String?

    @Option(name: .customLong("plugins"), help: "A folder of plugins (.so) and scripts to load; repeatable.")
    var pluginFolders: [String] = []

    @Option(name: .customLong("actor"), help: "One plugin or script file to load; repeatable.")
    var actorFiles: [String] = []

    @Option(help: "Interactions run at once, of the steps that call no model endpoint.")
    var concurrency = 4

    func validate() throws {
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1…256") }
    }
}
