import Testing

/// The header alone is enough to build an actor, in C and in C++.
@Suite struct HeaderTests {
    @Test func exampleCPluginBuildsFromTheHeaderAloneAsStrictC() throws {
        let plugin = try TestPlugins.compile(source: TestPlugins.repositoryRoot + "/Plugins/EchoC/echo.c",
                                             output: "libecho.so", flags: ["-std=c11", "-Wpedantic"])
        let loaded = try TestPlugins.loader().load(plugin)
        #expect(loaded.name == "echo-c")
    }

    @Test func headerCompilesAsCxx() throws {
        let source = try TestPlugins.temporaryDirectory() + "/include.cpp"
        try """
            #include <wavehost/actor_abi.h>
            static_assert(sizeof(wh_actor_descriptor) == 112, "descriptor layout");
            static_assert(WH_DESCRIPTOR_MIN_SIZE == 72, "required part of the descriptor");
            extern "C" const wh_actor_descriptor *wavehost_actor_entry(uint32_t, wh_abi_range *speaks) {
                if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
                return nullptr;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        _ = try TestPlugins.compile(source: source, output: "libcxx.so", compiler: "c++", flags: ["-std=c++17", "-Wpedantic"])
    }
}
