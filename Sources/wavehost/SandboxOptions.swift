import ArgumentParser
import WavehostEngine
import WavehostSandbox

/// How much sandbox the operator accepts: every layer, unless named here knowingly.
struct SandboxOptions: ParsableArguments {
    @Option(name: .customLong("allow-weak-sandbox"),
            help: ArgumentHelp("Run untrusted actors although this sandbox layer is missing here (repeatable; \"all\" for every layer). "
                               + "`wavehost doctor` lists the layers and what each missing one means.", valueName: "layer"))
    var weakLayers: [String] = []

    @Option(help: ArgumentHelp("A file of NAME=VALUE lines (yours, mode 600) that {\"secret\": NAME} in a variant's config "
                               + "takes its value from, instead of the environment. Also $WAVEHOST_SECRETS_FILE.",
                               valueName: "file"))
    var secrets: String?

    /// Loads the secrets file now, so a bad one stops the command before anything runs.
    func validate() throws {
        if let secrets {
            do { try HostSecrets.load(file: secrets) } catch { throw ValidationError("--secrets: \(error)") }
        }
    }

    func apply(to configuration: inout WorkerPool.Configuration) {
        configuration.weakLayersAccepted = weakLayers
    }

    var workerConfiguration: WorkerPool.Configuration {
        var configuration = WorkerPool.Configuration()
        apply(to: &configuration)
        return configuration
    }
}
