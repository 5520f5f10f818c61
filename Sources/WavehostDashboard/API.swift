import Foundation
import WavehostEngine
import WavehostJSON
import WavehostStore

/// The JSON under /api/: the pages' data, times in Unix milliseconds, latencies in ms.
/// docs/api/openapi.yaml documents every field; keep the two in step.
enum API {
    private static func number(_ value: Double?) -> JSON { value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
    private static func time(_ value: Int64?) -> JSON { value.map { .integer($0) } ?? .null }

    /// The same sections and names as `wavehost status --json`, plus `background_issues`.
    static func status(_ report: StatusReport, issues: [BackgroundIssue]) -> JSON {
        guard case .object(var members) = report.json else { return report.json }
        members.append((key: "background_issues", value: .array(issues.map { issue in [
            "time": .integer(Int64(issue.time.timeIntervalSince1970 * 1000)), "task": .string(issue.task), "message": .string(issue.message),
            "repeats": .integer(issue.repeats),
        ] })))
        return .object(members)
    }

    static func step(_ data: StepComparison) -> JSON {
        [
            "workflow": .string(data.workflow), "step": .string(data.step), "since": .integer(data.since), "now": .integer(data.now),
            "minimum_sample": .integer(data.minimumSample),
            "variants": .array(data.variants.map { variant in
                let interval = Statistics.wilson(variant.completed, variant.finished)
                return [
                    "id": .integer(variant.id), "actor": .string(variant.stored.actor),
                    "config": variant.stored.config,
                    "role": .string(variant.stored.role.rawValue), "mode": .string(variant.stored.mode.rawValue), "weight": .integer(variant.stored.weight),
                    "retired": .bool(variant.stored.retired), "finished": .integer(variant.finished), "completed": .integer(variant.completed),
                    "success_rate": number(variant.finished > 0 ? Double(variant.completed) / Double(variant.finished) : nil),
                    "success_low": number(interval?.low), "success_high": number(interval?.high),
                    "p50_ms": number(variant.record?.p50Milliseconds), "p95_ms": number(variant.record?.p95Milliseconds),
                ]
            }),
            "verdicts": .array(data.verdicts.map { item in [
                "champion": .integer(item.championID), "challenger": .integer(item.challengerID),
                "decision": .string(item.verdict.decision.rawValue), "reason": .string(item.verdict.reason),
                // Unrounded: a p-value of 0.0004 is not 0.
                "z": item.verdict.z.map(JSON.double) ?? .null, "p_value": item.verdict.pValue.map(JSON.double) ?? .null,
            ] }),
            "success_over_time": [
                "bucket_ms": .integer(data.bucketWidth), "start": .integer(data.bucketStart),
                "buckets": .array(data.buckets.map { bucket in [
                    "variant": .integer(bucket.variantID), "start": .integer(bucket.start), "finished": .integer(bucket.finished),
                    "completed": .integer(bucket.completed), "success_rate": number(bucket.rate),
                    "success_low": number(bucket.interval?.low), "success_high": number(bucket.interval?.high),
                ] }),
            ],
            "latency": .array(data.variants.compactMap { variant -> JSON? in
                guard let samples = data.latencies[variant.id]?.sorted(), !samples.isEmpty else { return nil }
                func rank(_ percent: Double) -> Double { samples[max(0, Int((percent / 100 * Double(samples.count)).rounded(.up)) - 1)] }
                return ["variant": .integer(variant.id), "count": .integer(samples.count), "min_ms": number(samples.first),
                        "p50_ms": number(rank(50)), "p90_ms": number(rank(90)), "p99_ms": number(rank(99)), "max_ms": number(samples.last)]
            }),
            "quality": data.quality.map { quality in [
                "path": .string(quality.path),
                "variants": .array(data.variants.compactMap { variant -> JSON? in
                    guard let scores = quality.scores[variant.id], !scores.isEmpty else { return nil }
                    return ["variant": .integer(variant.id), "count": .integer(scores.count), "mean": number(Statistics.mean(scores)),
                            "min": number(scores.min()), "max": number(scores.max())]
                }),
            ] } ?? .null,
            "canaries": .array(data.canaries.map { canary in [
                "id": .integer(canary.id), "variant": .integer(canary.variantID), "schedule": .array(canary.schedule.map { .integer($0) }),
                "stage": .integer(canary.stage), "state": .string(canary.state), "stage_started_at": .integer(canary.stageStartedAt),
            ] }),
        ]
    }

    static func reviews(_ items: [Store.ReviewItem], _ decisions: [Store.ReviewDecision]) -> JSON {
        ["reviews": .array(items.map { item in
            let decision = decisions.first { $0.review == item.id }
            return [
                "id": .integer(item.id), "workflow": .string(item.workflow), "step": .string(item.step), "reason": .string(item.reason),
                // Evidence stored as plain text (by a test or a person) is shown as text.
                "evidence": (try? JSON.parse(item.evidence)) ?? .string(item.evidence),
                "created_at": .integer(item.createdAt), "resolved_at": time(item.resolvedAt),
                "decision": decision.map { ["decision": .string($0.decision), "by": .string($0.by), "why": .string($0.why), "at": .integer($0.at)] } ?? .null,
            ]
        })]
    }
}
