import Foundation
import Testing
import WavehostEngine
import WavehostPlugins

/// Every loader error, each produced by a real bad plugin compiled for the test.
@Suite struct LoaderErrorTests {
    /// Loads `path` and returns the error, failing the test if it loaded.
    private func loadError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> PluginError {
        do {
            let plugin = try TestPlugins.loader().load(path)
            Issue.record("expected \(path) to be refused, but it loaded as \(plugin.name)", sourceLocation: sourceLocation)
            throw TestSetupError("loaded")
        } catch let error as PluginError {
            #expect(error.path == path, "the error names the file at fault", sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix(path), sourceLocation: sourceLocation)
            return error
        }
    }

    @Test func missingFile() throws {
        let error = try loadError("/nonexistent/libnothing.so")
        #expect(error.code == .notFound)
        #expect(error.message.contains("No such file"))
    }

    @Test func notASharedObject() throws {
        let path = try TestPlugins.temporaryDirectory() + "/libtext.so"
        try "this is not a library".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try loadError(path)
        #expect(error.code == .notSharedObject)
        #expect(error.message.contains("not an ELF shared object"))
    }

    @Test func aFolderIsNotASharedObject() throws {
        let error = try loadError(try TestPlugins.temporaryDirectory())
        #expect(error.code == .notSharedObject)
    }

    @Test func missingEntrySymbol() throws {
        let error = try loadError(try TestPlugins.misbehaving("NO_ENTRY"))
        #expect(error.code == .missingEntrySymbol)
        #expect(error.message.contains("wavehost_actor_entry"))
    }

    @Test func unsupportedABIVersionNamesBothSides() throws {
        let error = try loadError(try TestPlugins.misbehaving("WRONG_ABI"))
        #expect(error.code == .unsupportedABIVersion)
        #expect(error.message.contains("the host speaks version 1"))
        #expect(error.message.contains("the plugin speaks versions 2–3"))
    }

    @Test func descriptorTooSmall() throws {
        let error = try loadError(try TestPlugins.misbehaving("TOO_SMALL"))
        #expect(error.code == .descriptorTooSmall)
        #expect(error.message.contains("declares 8 bytes"))
    }

    @Test(arguments: [
        ("NULL_NAME", "name is NULL"),
        ("EMPTY_NAME", "name \"\" must be"),
        ("NULL_INVOKE", "NULL function pointer: invoke"),
        ("BAD_CAPS", "unknown capability bits 0x100000: bits 0–31 are ones a host must understand"),
        ("VERSION_MISMATCH", "the descriptor says version 7"),
    ])
    func malformedDescriptor(_ fault: String, _ expected: String) throws {
        let error = try loadError(try TestPlugins.misbehaving(fault))
        #expect(error.code == .malformedDescriptor)
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func createFailureCarriesThePluginsMessage() throws {
        let path = try TestPlugins.misbehaving("FAILING_CREATE")
        let plugin = try TestPlugins.loader(trusting: [path]).load(path)
        #expect {
            try plugin.makeInstance()
        } throws: { error in
            let error = error as! PluginError
            return error.code == .createFailed && error.path == plugin.path
                && error.message.contains("misbehaving: this build refuses every config")
                && error.message.contains("invalid config")
        }
    }

    @Test func sameNameWithDifferentHashIsRefusedByARegistry() throws {
        let registry = PluginRegistry(loader: try TestPlugins.loader())
        let first = try TestPlugins.misbehaving(#"ACTOR_VERSION="1.0.0""#)
        let second = try TestPlugins.misbehaving(#"ACTOR_VERSION="2.0.0""#)
        let registered = try registry.register(first)
        #expect(try registry.register(first) === registered, "the same content registers once")
        #expect {
            try registry.register(second)
        } throws: { error in
            let error = error as! PluginError
            return error.code == .duplicateActor && error.path == second
                && error.message.contains("already registered from \(first)")
        }
        #expect(registry.plugin(named: "misbehaving") === registered, "the first version keeps serving")
    }
}
