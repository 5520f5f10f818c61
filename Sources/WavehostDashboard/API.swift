import Foundation
import Host
import WavehostJSON

/// The JSON under /api/: the pages' data, times in Unix milliseconds, latencies in ms.
/// docs/api/openapi.yaml documents every field; keep the two in step.
enum API {
    private static func number(_ value: Double?) -> JSON { value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
    private static func time(_ value: Int64?) -> JSON { value.map { .integer($0) } ?? .null }
    private static func text(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }

    /// The same sections and names as `wavehost status --json`, plus `background_issues`.
    static func status(_ report: StatusReport, issues: [BackgroundIssue]) -> JSON {
        let runs = report.runs, calls = report.interactions, throughput = report.throughput
        return [
            "workflow": text(report.workflow),
            "workflows": .array(report.workflows.map { .string($0) }),
            "now": .integer(report.now),
            "runs": ["total": .integer(runs.total), "pending": .integer(runs.pending), "running": .integer(runs.running),
                     "completed": .integer(runs.completed), "failed": .integer(runs.failed), "through_every_step": .integer(runs.throughEveryStep)],
            "interactions": ["total": .integer(calls.total), "pending": .integer(calls.pending), "running": .integer(calls.running),
                             "completed": .integer(calls.completed), "failed": .integer(calls.failed), "timed_out": .integer(calls.timedOut)],
            "steps": .array(report.steps.map { step in [
                "workflow": .string(step.workflow), "name": .string(step.name),
                "interactions": .integer(step.interactions), "interactions_completed": .integer(step.interactionsCompleted),
                "runs": .integer(step.runs), "runs_completed": .integer(step.runsCompleted), "runs_skipped": .integer(step.runsSkipped),
                "p50_ms": number(step.p50Milliseconds), "p95_ms": number(step.p95Milliseconds),
            ] }),
            "actors": .array(report.actors.map { actor in [
                "name": .string(actor.name), "interactions": .integer(actor.interactions), "completed": .integer(actor.completed),
                "finished": .integer(actor.finished), "success_rate": number(actor.successRate),
                "sha256": .array(actor.sha256.map { .string($0) }),
            ] }),
            "recent_errors": .array(report.errors.map { error in [
                "source": .string(error.source.rawValue), "error": .string(error.message),
                "count": .integer(error.count), "latest_at": time(error.latestAt),
            ] }),
            "stale": [
                "interactions": .array(report.staleInteractions.map { call in [
                    "id": .integer(call.id), "run": .integer(call.runID), "step": .string(call.step),
                    "started_at": .integer(call.startedAt), "timeout_ms": .integer(call.timeoutMilliseconds), "owner": text(call.owner),
                ] }),
                "runs": .array(report.staleRuns.map { run in [
                    "id": .integer(run.id), "subject": .string(run.subject), "owner": text(run.owner),
                    "lease_expires_at": .integer(run.leaseExpiresAt),
                ] }),
            ],
            "throughput": [
                "last_minute_per_second": number(throughput.lastMinute), "overall_per_second": number(throughput.overall),
                "first_started_at": time(throughput.firstStartedAt), "last_completed_at": time(throughput.lastCompletedAt),
            ],
            "background_issues": .array(issues.map { issue in [
                "time": .integer(Int64(issue.time.timeIntervalSince1970 * 1000)), "task": .string(issue.task), "message": .string(issue.message),
                "repeats": .integer(issue.repeats),
            ] }),
        ]
    }

    static func step(_ data: StepComparison) -> JSON {
        [
            "workflow": .string(data.workflow), "step": .string(data.step), "since": .integer(data.since), "now": .integer(data.now),
            "minimum_sample": .integer(data.minimumSample),
            "variants": .array(data.variants.map { variant in
                let interval = Statistics.wilson(variant.completed, variant.finished)
                return [
                    "id": .integer(variant.id), "actor": .string(variant.stored.actor),
                    "config": (try? JSON.parse(variant.stored.config)) ?? .string(variant.stored.config),
                    "role": .string(variant.stored.role), "mode": .string(variant.stored.mode), "weight": .integer(variant.stored.weight),
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
                "evidence": (try? JSON.parse(item.evidence)) ?? .string(item.evidence),
                "created_at": .integer(item.createdAt), "resolved_at": time(item.resolvedAt),
                "decision": decision.map { ["decision": .string($0.decision), "by": .string($0.by), "why": .string($0.why), "at": .integer($0.at)] } ?? .null,
            ]
        })]
    }
}
