import Foundation
import WavehostJSON
import WavehostStore

extension RunOccasion {
    /// Why a run of a recurring workflow exists: the trigger its steps see as `trigger.by`.
    public enum Trigger: String, Sendable, CaseIterable {
        /// The workflow's own schedule (`every:`), run by `wavehost serve` or a plain `wavehost run`.
        case heartbeat
        /// The subject's owner asked for a check now.
        case ownerTest = "owner_test"
        /// Someone else asked (`--as NAME`): recorded for them, never as the owner's.
        case thirdParty = "third_party"
    }

    /// The heartbeat slot of length `every` that holds `now`: every host serving the
    /// workflow computes the same slot, so its runs are added once however many hosts look.
    public static func heartbeat(every milliseconds: Int, now: Date = Date()) -> RunOccasion {
        let elapsed = Int64(now.timeIntervalSince1970 * 1000)
        let slot = Date(timeIntervalSince1970: Double(elapsed - elapsed % Int64(milliseconds)) / 1000)
        return make(.heartbeat, as: nil, at: slot, key: "heartbeat:\(timestamp(slot))")
    }

    /// A run asked for now. Each is its own occasion: two asked in the same millisecond
    /// are two runs (a random suffix tells them apart).
    public static func onDemand(_ trigger: Trigger, as name: String? = nil, now: Date = Date()) -> RunOccasion {
        if trigger == .heartbeat { return make(.heartbeat, as: nil, at: now, key: "heartbeat:\(timestamp(now))") }
        let unique = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let who = name.map { "\($0):" } ?? ""
        return make(trigger, as: name, at: now, key: "\(trigger.rawValue):\(who)\(timestamp(now))-\(unique)")
    }

    private static func make(_ trigger: Trigger, as name: String?, at time: Date, key: String) -> RunOccasion {
        RunOccasion(key: key, trigger: .object([
            ("by", .string(trigger.rawValue)), ("as", name.map(JSON.string) ?? .null),
            ("at", .string(timestamp(time))), ("occasion", .string(key)),
        ]))
    }

    /// UTC, to the millisecond: `2026-12-01T23:00:00.000Z`.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
