import Host

/// The cost of one sticky weighted choice (hash the subject, look up its slot), with 2 and
/// 20 live variants, beside hashing the subject alone (the floor: a choice cannot cost less).
func benchRouting(_ context: BenchContext) throws {
    let subjects = (0..<4096).map { "posting-\($0 * 7919)" }
    var index = 0
    var sink = 0
    let floor = nanosecondsPerCall(calls: 2_000_000) {
        index = (index + 1) & 4095
        for byte in subjects[index].utf8 { sink &+= Int(byte) }
    }
    report("routing.floor_walk_subject_bytes", floor, "ns")
    for count in [2, 20] {
        let router = StickyRouter(step: "grade", salt: "bench", variants: (1...count).map { .init(id: Int64($0), weight: $0 * 10) })
        let perCall = nanosecondsPerCall(calls: 2_000_000) {
            index = (index + 1) & 4095
            sink &+= Int(router.choose(subjects[index]).id)
        }
        report("routing.choice_\(count)_variants", perCall, "ns")
    }
    if sink == 42 { print("") }  // keeps the loops from being optimised away
}
