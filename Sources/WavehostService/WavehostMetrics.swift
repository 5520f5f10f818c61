import Metrics
import Prometheus
import WavehostEngine
import WavehostMetrics

/// The service's Prometheus registry: swift-metrics' backend for the process and the text
/// that `GET /metrics` returns. `MetricsSystem.bootstrap` may run once per process, so a
/// process bootstraps one of these (`bootstrap()`); more may exist, exported by
/// hand through `factory` (a test, the benchmark).
public final class WavehostMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// A swift-metrics factory writing into `registry`, with buckets fit for the durations
    /// the host sees (sub-millisecond calls up to model calls of minutes).
    public var factory: PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[HostMetrics.interactionDuration] = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        factory.durationHistogramBuckets[HostMetrics.journalCommitDuration] = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.valueHistogramBuckets[HostMetrics.journalCommitRecords] = [1, 2, 5, 10, 50, 100, 500, 1000, 2000, 5000, 10000]
        return factory
    }

    /// Makes this registry the process's metrics backend. Call once per process.
    public func bootstrap() {
        MetricsSystem.bootstrap(factory)
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
