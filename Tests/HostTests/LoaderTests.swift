import Foundation
import Testing
import WavehostEngine
import WavehostHash
import WavehostPlugins

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LoaderTests {
    @Test func loadsFromAContentAddressedCopy() throws {
        let loader = try TestPlugins.loader()
        let path = try TestPlugins.product("EchoC")
        let plugin = try loader.load(path)
        #expect(plugin.sha256 == ContentHash.sha256(ofFile: path))
        #expect(plugin.cachedPath == "\(loader.cache.directory)/\(plugin.sha256).so")
        #expect(ContentHash.sha256(ofFile: plugin.cachedPath) == plugin.sha256)
        #expect(try loader.load(path).cachedPath == plugin.cachedPath, "the same content maps to the same copy")
    }

    @Test func hashMatchesAKnownDigest() throws {
        #expect(ContentHash.sha256(of: Array("abc".utf8))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // No bytes take a shortcut to a constant: it must be the real digest of nothing.
        #expect(ContentHash.sha256(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// A plugin built against an older, smaller descriptor (no optional fields) still
    /// loads and works; its absent fields read as absent.
    @Test func olderSmallerDescriptorStillLoads() throws {
        let path = try TestPlugins.misbehaving("OLD_DESCRIPTOR")
        let plugin = try TestPlugins.loader(trusting: [path]).load(path)
        #expect(plugin.description.descriptorSize < 112)
        #expect(plugin.description.summary == nil)
        #expect(plugin.description.examples.isEmpty)
        let output = try plugin.makeInstance().invoke(#"{"still":"works"}"#)
        #expect(String(decoding: output, as: UTF8.self) == #"{"still":"works"}"#)
    }

    @Test func twoSwiftPluginsLoadIntoOneHost() throws {
        let registry = PluginRegistry(loader: try TestPlugins.loader())
        let validator = try registry.register(try TestPlugins.product("FieldValidator"))
        let transform = try registry.register(try TestPlugins.product("JSONTransform"))
        let echo = try registry.register(try TestPlugins.product("EchoC"))
        #expect(registry.all.map(\.name) == ["echo-c", "field-validator", "json-transform"])

        let checked = try validator.makeInstance(config: Array(#"{"required":["id"]}"#.utf8)).invoke(#"{"name":"x"}"#)
        #expect(String(decoding: checked, as: UTF8.self) == #"{"valid":false,"errors":[{"field":"id","problem":"missing"}]}"#)
        let reshaped = try transform.makeInstance(config: Array(#"{"rename":{"name":"title"}}"#.utf8)).invoke(#"{"name":"x"}"#)
        #expect(String(decoding: reshaped, as: UTF8.self) == #"{"title":"x"}"#)
        let echoed = try echo.makeInstance().invoke(#"{"name":"x"}"#)
        #expect(String(decoding: echoed, as: UTF8.self) == #"{"echo":{"name":"x"},"bytes":12}"#)
    }

    @Test func descriptorFactsAreRead() throws {
        let plugin = try TestPlugins.loader().load(try TestPlugins.product("FieldValidator"))
        let info = plugin.description
        #expect(info.name == "field-validator")
        #expect(info.kind == .validator)
        #expect(info.capabilities == [.threadSafe])
        #expect(info.abiVersion == 1)
        #expect(info.configSchema?["type"] == "object")
        #expect(info.examples.count == 4)
        #expect(info.examples.last?.expectsError == true)
    }

    @Test func everyOutputIsReleasedExactlyOnce() throws {
        let path = try TestPlugins.misbehaving("COUNT_RELEASES")
        let plugin = try TestPlugins.loader(trusting: [path]).load(path)
        let instance = try plugin.makeInstance()
        for _ in 0..<100 { _ = try instance.invoke(#"{"n":1}"#) }
        #expect(throws: ActorFailure.self) { try instance.invoke("not json") }
        #expect(try outstandingReplies(plugin) == 0)
    }

    @Test func invalidOrMissingOutputIsAFailureNamingTheActor() throws {
        for (fault, expected) in [("INVALID_OUTPUT", "output is not valid JSON"), ("NULL_OUTPUT", "no output")] {
            let path = try TestPlugins.misbehaving(fault)
            let instance = try TestPlugins.loader(trusting: [path]).load(path).makeInstance()
            #expect {
                try instance.invoke("{}")
            } throws: { error in
                let failure = error as! ActorFailure
                return failure.status == .invalidOutput && failure.actor == "misbehaving"
                    && failure.message.contains(expected)
            }
        }
    }

    @Test func actorRefusalKeepsItsStatusAndMessage() throws {
        let instance = try TestPlugins.loader().load(try TestPlugins.product("EchoC")).makeInstance()
        #expect {
            try instance.invoke([0xFF])
        } throws: { error in
            let failure = error as! ActorFailure
            return failure.status == .invalidInput && !failure.status.isRetryable
                && failure.message.contains("not valid JSON")
        }
    }

    /// Calls the fixture's counter of replies handed out and not yet released.
    private func outstandingReplies(_ plugin: LoadedPlugin) throws -> Int32 {
        guard let handle = dlopen(plugin.cachedPath, RTLD_NOW | RTLD_NOLOAD),
              let symbol = dlsym(handle, "misbehaving_outstanding")
        else { throw TestSetupError("misbehaving_outstanding not found") }
        typealias Counter = @convention(c) () -> Int32
        return unsafeBitCast(symbol, to: Counter.self)()
    }
}
