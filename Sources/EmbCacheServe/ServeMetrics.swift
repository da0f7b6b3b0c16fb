import EmbCacheKit
import Prometheus

/// The server's Prometheus metrics: requests and their latency, texts by
/// where their vector came from, provider requests and their latency.
/// Labels are endpoints, statuses and model names: never a text or a key.
final class ServeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "embcache", metricName: name, unitName: unit, helpText: help)
    }

    private static var requests: MetricNameDescriptor {
        named("requests", "total", "HTTP requests answered, by endpoint and status")
    }
    private static var requestDuration: MetricNameDescriptor {
        named(
            "request_duration", "seconds", "Time from a request's arrival to its answer")
    }
    private static var texts: MetricNameDescriptor {
        named(
            "texts", "total",
            "Distinct texts of requests: found in the cache, computed, or joined to another request's computation")
    }
    private static var upstreamRequests: MetricNameDescriptor {
        named(
            "upstream_requests", "total",
            "Requests to the embedding provider (each batch, retries within it not counted)")
    }
    private static var upstreamTexts: MetricNameDescriptor {
        named("upstream_texts", "total", "Texts sent to the embedding provider")
    }
    private static var upstreamErrors: MetricNameDescriptor {
        named(
            "upstream_errors", "total", "Provider requests that failed after their retries or were refused")
    }
    private static var upstreamDuration: MetricNameDescriptor {
        named(
            "upstream_duration", "seconds", "Time of one provider request, its retries included")
    }

    func request(endpoint: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))])
            .increment()
        registry.makeDurationHistogram(
            descriptor: Self.requestDuration, labels: [("endpoint", endpoint)], buckets: Self.latencyBuckets
        ).record(duration)
    }

    func texts(model: String, _ served: ServedVectors) {
        for (result, count) in [("hit", served.hits), ("miss", served.misses), ("shared", served.shared)]
        where count > 0 {
            registry.makeCounter(descriptor: Self.texts, labels: [("model", model), ("result", result)])
                .increment(by: Int64(count))
        }
    }

    func upstream(model: String, texts: Int, duration: Duration, failed: Bool) {
        let labels = [("model", model)]
        registry.makeCounter(descriptor: Self.upstreamRequests, labels: labels).increment()
        registry.makeCounter(descriptor: Self.upstreamTexts, labels: labels).increment(by: Int64(texts))
        if failed { registry.makeCounter(descriptor: Self.upstreamErrors, labels: labels).increment() }
        registry.makeDurationHistogram(
            descriptor: Self.upstreamDuration, labels: labels, buckets: Self.latencyBuckets
        ).record(duration)
    }

    /// The Prometheus text format.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// A provider whose requests are counted and timed.
struct MeteredProvider: EmbeddingProvider {
    let base: any EmbeddingProvider
    let model: String
    let metrics: ServeMetrics

    var name: String { base.name }
    var dimension: Int? { base.dimension }
    var limits: BatchLimits { base.limits }
    var providerStatistics: ProviderStatistics? { base.providerStatistics }

    func embed(_ texts: [String]) throws -> [[Float]] {
        let start = ContinuousClock.now
        do {
            let vectors = try base.embed(texts)
            metrics.upstream(model: model, texts: texts.count, duration: .now - start, failed: false)
            return vectors
        } catch {
            metrics.upstream(model: model, texts: texts.count, duration: .now - start, failed: true)
            throw error
        }
    }

    func cancel() { base.cancel() }
}
