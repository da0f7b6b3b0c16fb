import EmbCacheCore
import EmbCacheKit
import EmbCacheProviders
import Prometheus

/// The server's Prometheus metrics: requests and their latency, texts by
/// where their vector came from, provider requests and their latency.
/// Labels are endpoints, statuses and model names: never a text or a key.
final class ServeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
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

    /// The endpoints labelled by name; any other path is "other".
    static let endpoints = ["/v1/embeddings", "/v1/models", "/health", "/metrics", "other"]

    private struct Answered: Hashable {
        var endpoint: String
        var status: Int
    }

    /// Made once, so that a request takes no lock of the registry: the
    /// counter of each endpoint and status the server answers with, the
    /// histogram of each endpoint.
    private let answered: [Answered: Counter]
    private let durations: [String: DurationHistogram]

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var answered: [Answered: Counter] = [:]
        var durations: [String: DurationHistogram] = [:]
        for endpoint in Self.endpoints {
            durations[endpoint] = registry.makeDurationHistogram(
                descriptor: Self.requestDuration, labels: [("endpoint", endpoint)], buckets: Self.latencyBuckets)
            for status in [200, 400, 401, 404, 405, 413, 500, 502, 503] {
                answered[Answered(endpoint: endpoint, status: status)] = registry.makeCounter(
                    descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))])
            }
        }
        self.answered = answered
        self.durations = durations
    }

    func request(endpoint: String, status: Int, duration: Duration) {
        let counter =
            answered[Answered(endpoint: endpoint, status: status)]
            ?? registry.makeCounter(
                descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))])
        counter.increment()
        durations[endpoint]?.record(duration)
    }

    /// The metrics of one model, made when it is first served.
    func model(_ name: String) -> ModelMetrics {
        let labels = [("model", name)]
        let texts = { (result: String) in
            self.registry.makeCounter(descriptor: Self.texts, labels: [("model", name), ("result", result)])
        }
        return ModelMetrics(
            hits: texts("hit"), misses: texts("miss"), shared: texts("shared"),
            upstreamRequests: registry.makeCounter(descriptor: Self.upstreamRequests, labels: labels),
            upstreamTexts: registry.makeCounter(descriptor: Self.upstreamTexts, labels: labels),
            upstreamErrors: registry.makeCounter(descriptor: Self.upstreamErrors, labels: labels),
            upstreamDuration: registry.makeDurationHistogram(
                descriptor: Self.upstreamDuration, labels: labels, buckets: Self.latencyBuckets))
    }

    /// The Prometheus text format.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// One model's texts by where their vectors came from, and its provider
/// requests.
struct ModelMetrics: Sendable {
    let hits: Counter
    let misses: Counter
    let shared: Counter
    let upstreamRequests: Counter
    let upstreamTexts: Counter
    let upstreamErrors: Counter
    let upstreamDuration: DurationHistogram

    func texts(_ served: ServedVectors) {
        if served.hits > 0 { hits.increment(by: Int64(served.hits)) }
        if served.misses > 0 { misses.increment(by: Int64(served.misses)) }
        if served.shared > 0 { shared.increment(by: Int64(served.shared)) }
    }

    func upstream(texts: Int, duration: Duration, failed: Bool) {
        upstreamRequests.increment()
        upstreamTexts.increment(by: Int64(texts))
        if failed { upstreamErrors.increment() }
        upstreamDuration.record(duration)
    }
}

/// A provider whose requests are counted and timed.
struct MeteredProvider: EmbeddingProvider {
    let base: any EmbeddingProvider
    let metrics: ModelMetrics

    var name: String { base.name }
    var dimension: Int? { base.dimension }
    var limits: BatchLimits { base.limits }
    var providerStatistics: ProviderStatistics? { base.providerStatistics }

    func embed(_ texts: [String]) throws -> [[Float]] {
        let start = ContinuousClock.now
        do {
            let vectors = try base.embed(texts)
            metrics.upstream(texts: texts.count, duration: .now - start, failed: false)
            return vectors
        } catch {
            metrics.upstream(texts: texts.count, duration: .now - start, failed: true)
            throw error
        }
    }

    func cancel() { base.cancel() }
}
