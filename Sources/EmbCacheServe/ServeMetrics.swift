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

    func request(endpoint: String, status: Int, duration: Duration) {
        registry.makeCounter(
            name: "embcache_requests_total", labels: [("endpoint", endpoint), ("status", String(status))],
            help: "HTTP requests answered, by endpoint and status"
        ).increment()
        registry.makeDurationHistogram(
            name: "embcache_request_duration_seconds", labels: [("endpoint", endpoint)],
            buckets: Self.latencyBuckets, help: "Time from a request's arrival to its answer"
        ).record(duration)
    }

    func texts(model: String, _ served: ServedVectors) {
        for (result, count) in [("hit", served.hits), ("miss", served.misses), ("shared", served.shared)]
        where count > 0 {
            registry.makeCounter(
                name: "embcache_texts_total", labels: [("model", model), ("result", result)],
                help:
                    "Distinct texts of requests: found in the cache, computed, or joined to another request's computation"
            ).increment(by: Int64(count))
        }
    }

    func upstream(model: String, texts: Int, duration: Duration, failed: Bool) {
        registry.makeCounter(
            name: "embcache_upstream_requests_total", labels: [("model", model)],
            help: "Requests to the embedding provider (each batch, retries within it not counted)"
        ).increment()
        registry.makeCounter(
            name: "embcache_upstream_texts_total", labels: [("model", model)],
            help: "Texts sent to the embedding provider"
        ).increment(by: Int64(texts))
        if failed {
            registry.makeCounter(
                name: "embcache_upstream_errors_total", labels: [("model", model)],
                help: "Provider requests that failed after their retries or were refused"
            ).increment()
        }
        registry.makeDurationHistogram(
            name: "embcache_upstream_duration_seconds", labels: [("model", model)], buckets: Self.latencyBuckets,
            help: "Time of one provider request, its retries included"
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
