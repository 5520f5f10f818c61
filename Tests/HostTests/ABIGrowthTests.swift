import Foundation
import WavehostEngine
import WavehostPlugins
import Testing

/// How version 1 grows without breaking: a plugin built for a later v1 — with a capability
/// hint or a kind this host does not know — loads and works here, in-process and through a
/// worker; a bit a host must understand is refused by name.
@Suite struct ABIGrowthTests {
    @Test(arguments: ["FUTURE_OPTIONAL_CAP", "FUTURE_KIND"])
    func aPluginForALaterV1LoadsAndWorks(_ feature: String) throws {
        let path = try TestPlugins.misbehaving(feature)
        let plugin = try TestPlugins.loader(trusting: [path]).load(path)
        #expect(plugin.description.kind == .other)
        if feature == "FUTURE_OPTIONAL_CAP" {
            #expect(plugin.description.capabilities.contains(.threadSafe))
            #expect(plugin.description.capabilities.unknownOptional.rawValue == 1 << 40)
            #expect(plugin.description.capabilities.description.contains("unknown optional 0x10000000000 (ignored)"))
        }
        let instance = try plugin.makeInstance(config: Array("{}".utf8))
        #expect(try instance.invoke(Array(#"{"a":1}"#.utf8)) == Array(#"{"a":1}"#.utf8))

        // Through a worker too: the descriptor a worker reads is checked by the same rule.
        let inspect = try TestPlugins.run(TestPlugins.cli, ["plugins", "inspect", path])
        #expect(inspect.status == 0, "\(inspect.error)")
        #expect(inspect.output.contains("kind         other"), "\(inspect.output)")
        if feature == "FUTURE_OPTIONAL_CAP" {
            #expect(inspect.output.contains("thread-safe, unknown optional 0x10000000000 (ignored)"), "\(inspect.output)")
        }
    }

    @Test func aRequiredBitThisHostDoesNotKnowIsRefusedThroughAWorkerToo() throws {
        let path = try TestPlugins.misbehaving("BAD_CAPS")
        let inspect = try TestPlugins.run(TestPlugins.cli, ["plugins", "inspect", path])
        #expect(inspect.status != 0)
        #expect(inspect.error.contains("unknown capability bits 0x100000"), "\(inspect.error)")
        #expect(inspect.error.contains(path), "the error names the author's file: \(inspect.error)")
    }
}
