import ActorABI
import Testing

/// Pins the ABI's layout (x86_64 / LP64): an accidental change to the header fails
/// here instead of in a third party's plugin.
@Suite struct ABILayoutTests {
    @Test func constants() {
        #expect(WH_ABI_VERSION == 1)
        #expect(WH_ENTRY_SYMBOL == "wavehost_actor_entry")
        #expect([WH_OK, WH_ERR_INVALID_INPUT, WH_ERR_INVALID_CONFIG, WH_ERR_FAILED, WH_ERR_UNAVAILABLE, WH_ERR_INTERNAL]
            == [0, 1, 2, 3, 4, 5])
        #expect([WH_KIND_OTHER, WH_KIND_FETCHER, WH_KIND_VALIDATOR, WH_KIND_SAVER, WH_KIND_GRADER, WH_KIND_CHECKER,
                 WH_KIND_SCRIPT] == [0, 1, 2, 3, 4, 5, 6])
        #expect([WH_CAP_NETWORK, WH_CAP_THREAD_SAFE, WH_CAP_EXTERNAL_EFFECTS] == [1, 2, 4])
        #expect([WH_LOG_TRACE, WH_LOG_DEBUG, WH_LOG_INFO, WH_LOG_WARN, WH_LOG_ERROR] == [0, 1, 2, 3, 4])
    }

    @Test func abiRange() {
        #expect(MemoryLayout<wh_abi_range>.size == 8)
        #expect(MemoryLayout<wh_abi_range>.offset(of: \.max_version) == 4)
    }

    @Test func hostServices() {
        typealias T = wh_host_services
        // Version 1 ended at 24 bytes; http and http_release were appended after it.
        #expect(MemoryLayout<T>.size == 40)
        #expect([MemoryLayout<T>.offset(of: \.struct_size), MemoryLayout<T>.offset(of: \.abi_version),
                 MemoryLayout<T>.offset(of: \.context), MemoryLayout<T>.offset(of: \.log),
                 MemoryLayout<T>.offset(of: \.http), MemoryLayout<T>.offset(of: \.http_release)] == [0, 4, 8, 16, 24, 32])
        #expect(MemoryLayout<wh_http_request>.size == 72 && MemoryLayout<wh_http_response>.size == 64)
    }

    @Test func reply() {
        typealias T = wh_reply
        #expect(MemoryLayout<T>.size == 32)
        #expect([MemoryLayout<T>.offset(of: \.struct_size), MemoryLayout<T>.offset(of: \.reserved),
                 MemoryLayout<T>.offset(of: \.data), MemoryLayout<T>.offset(of: \.length),
                 MemoryLayout<T>.offset(of: \.release_token)] == [0, 4, 8, 16, 24])
    }

    @Test func descriptor() {
        typealias T = wh_actor_descriptor
        #expect(MemoryLayout<T>.size == 112)
        let offsets: [Int?] = [
            MemoryLayout<T>.offset(of: \.struct_size), MemoryLayout<T>.offset(of: \.abi_version),
            MemoryLayout<T>.offset(of: \.name), MemoryLayout<T>.offset(of: \.version),
            MemoryLayout<T>.offset(of: \.kind), MemoryLayout<T>.offset(of: \.reserved),
            MemoryLayout<T>.offset(of: \.capabilities), MemoryLayout<T>.offset(of: \.create),
            MemoryLayout<T>.offset(of: \.invoke), MemoryLayout<T>.offset(of: \.release),
            MemoryLayout<T>.offset(of: \.destroy), MemoryLayout<T>.offset(of: \.description),
            MemoryLayout<T>.offset(of: \.config_schema), MemoryLayout<T>.offset(of: \.input_schema),
            MemoryLayout<T>.offset(of: \.output_schema), MemoryLayout<T>.offset(of: \.examples),
        ]
        #expect(offsets == [0, 4, 8, 16, 24, 28, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104])
    }
}
