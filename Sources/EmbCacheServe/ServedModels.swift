import EmbCacheKit
import Synchronization

/// What a request's `model` and `dimensions` resolve to, as the filter
/// resolves `--model NAME --dimensions D`: its provider, its cache file,
/// its prefix. Throws `ServedModelError`.
public typealias ModelResolver = @Sendable (_ name: String, _ dimensions: Int?) throws -> FilterConfiguration

/// Why a request's model cannot be served.
public enum ServedModelError: Error, Sendable {
    /// Neither in the config file nor built in.
    case unknown(String)
    /// Known, but not with these parameters (a dimension its provider
    /// does not take).
    case invalid(String)
}

/// A model's service and its metrics.
struct ServedModel: Sendable {
    let service: ModelService
    let metrics: ModelMetrics
}

/// The models served so far, each opened on its first request and kept
/// until shutdown: one cache, one provider, one gatherer per model and
/// dimension.
final class ServedModels: Sendable {
    private struct Name: Hashable {
        var model: String
        var dimensions: Int?
    }

    private let resolve: ModelResolver
    private let gatherDelay: Duration
    private let reporter: Reporter
    private let metrics: ServeMetrics
    private let opened = Mutex<[Name: ServedModel]>([:])
    /// Held while a model opens (a local model loads for seconds): two
    /// first requests never open one model twice.
    private let opening = Mutex<Void>(())

    init(resolve: @escaping ModelResolver, gatherDelay: Duration, reporter: Reporter, metrics: ServeMetrics) {
        self.resolve = resolve
        self.gatherDelay = gatherDelay
        self.reporter = reporter
        self.metrics = metrics
    }

    func service(_ model: String, dimensions: Int?) throws -> ServedModel {
        let name = Name(model: model, dimensions: dimensions)
        if let served = opened.withLock({ $0[name] }) { return served }
        return try opening.withLock { _ in
            if let served = opened.withLock({ $0[name] }) { return served }
            let configuration: FilterConfiguration
            do {
                configuration = try resolve(model, dimensions)
            } catch ServedModelError.unknown(let name) {
                throw APIError.unknownModel(name)
            } catch ServedModelError.invalid(let message) {
                throw APIError.invalid(message, dimensions == nil ? "model" : "dimensions")
            }
            let metrics = self.metrics.model(model)
            let service = try ModelService.open(configuration, gatherDelay: gatherDelay, reporter: reporter) {
                MeteredProvider(base: $0, metrics: metrics)
            }
            let served = ServedModel(service: service, metrics: metrics)
            opened.withLock { $0[name] = served }
            return served
        }
    }

    /// Sends what waits, commits, closes every cache.
    func close() {
        let services = opened.withLock { opened in
            defer { opened = [:] }
            return Array(opened.values)
        }
        for served in services { served.service.close() }
    }
}
