import ArgumentParser
import WavehostEngine
import WavehostSandbox

/// How much sandbox the operator accepts: every layer, unless named here knowingly.
struct SandboxOptions: ParsableArguments {
    @Option(name: .customLong("allow-weak-sandbox"),
            help: ArgumentHelp("Run untrusted actors although this sandbox layer is missing here (repeatable; \"all\" for every layer). "
                               + "`wavehost doctor` lists the layers and what each missing one means.", valueName: "layer"))
    var weakLayers: [String] = []

    func apply(to configuration: inout WorkerPool.Configuration) {
        configuration.weakLayersAccepted = weakLayers
    }

    var workerConfiguration: WorkerPool.Configuration {
        var configuration = WorkerPool.Configuration()
        apply(to: &configuration)
        return configuration
    }
}
