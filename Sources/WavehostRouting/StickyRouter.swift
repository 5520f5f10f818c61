import Foundation

/// Sticky weighted choice of a step's live variant: a stable hash of (subject, step,
/// experiment salt) picks one of 65,536 slots, and each slot belongs to the variant that
/// wins a weighted rendezvous for it. So a subject always meets the same variant while the
/// weights stand; a choice is one table lookup; and when a weight changes, only the slots
/// that must move do (a heavier variant only gains slots, a lighter one only loses them).
public struct StickyRouter: Sendable {
    public struct Variant: Sendable, Equatable {
        public let id: Int64
        public let weight: Int

        public init(id: Int64, weight: Int) {
            self.id = id
            self.weight = weight
        }
    }

    public static let slotCount = 1 << 16

    public let variants: [Variant]
    private let seed: UInt64
    private let slots: [UInt8]

    /// `variants` with weight 0 never get a slot. At most 255 variants.
    public init(step: String, salt: String = "", variants: [Variant]) {
        precondition(variants.count < 256, "a step has at most 255 variants")
        self.variants = variants
        seed = Self.fnv1a(step + "\u{0}" + salt)
        let keys = variants.map { Self.mix(UInt64(bitPattern: $0.id) &+ 0x9E37_79B9_7F4A_7C15) }
        var slots = [UInt8](repeating: 0, count: Self.slotCount)
        for slot in 0..<Self.slotCount {
            // Weighted rendezvous: the smallest -ln(u)/w wins, which a variant does with
            // probability w / Σw, independently for each slot.
            var best = Double.infinity
            for (index, variant) in variants.enumerated() where variant.weight > 0 {
                let unit = (Double(Self.mix(keys[index] ^ UInt64(slot)) >> 11) + 0.5) / Double(1 << 53)
                let score = -log(unit) / Double(variant.weight)
                if score < best { (best, slots[slot]) = (score, UInt8(index)) }
            }
        }
        self.slots = slots
    }

    /// The variant for `subject`: the same for the same subject while the weights stand.
    public func choose(_ subject: String) -> Variant {
        variants[Int(slots[slot(of: subject)])]
    }

    func slot(of subject: String) -> Int {
        Int(Self.mix(Self.fnv1a(subject, seed: seed)) & UInt64(Self.slotCount - 1))
    }

    static func fnv1a(_ text: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// splitmix64's finalizer: spreads every input bit over the whole word.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
