import Dispatch
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
    /// does not take); the message is for the client.
    case invalid(String)
    /// The server cannot serve it (no API key, a bad setting): the
    /// message is for the server's log only.
    case unusable(String)
}

/// A model's service and its metrics.
struct ServedModel: Sendable {
    let service: ModelService
    let metrics: ModelMetrics
}

/// The models served so far, each opened on its first request and kept
/// until shutdown: one cache, one provider, one gatherer per model
/// identity (two names of one model share them, so a text is never
/// computed twice at once), at most `limit` of them.
final class ServedModels: Sendable {
    private struct Name: Hashable {
        var model: String
        var dimensions: Int?
    }

    private struct Opened {
        var byName: [Name: ServedModel] = [:]
        var byIdentity: [String: ServedModel] = [:]
    }

    private let resolve: ModelResolver
    private let gatherDelay: Duration
    private let reporter: Reporter
    private let metrics: ServeMetrics
    private let limit: Int
    private let opened = Mutex(Opened())
    /// Held while a model opens (a local model loads for seconds): two
    /// first requests never open one model twice.
    private let opening = Mutex<Void>(())
    /// Opening blocks (a model loads, a database answers): it runs here,
    /// not on the few threads that serve every request.
    private let openingQueue = DispatchQueue(label: "embcache.serve.open")

    init(
        resolve: @escaping ModelResolver, gatherDelay: Duration, reporter: Reporter, metrics: ServeMetrics, limit: Int
    ) {
        self.resolve = resolve
        self.gatherDelay = gatherDelay
        self.reporter = reporter
        self.metrics = metrics
        self.limit = limit
    }

    /// The model of a request, opened on a thread of its own the first time.
    func service(_ model: String, dimensions: Int?) async throws -> ServedModel {
        let name = Name(model: model, dimensions: dimensions)
        if let served = opened.withLock({ $0.byName[name] }) { return served }
        return try await withCheckedThrowingContinuation { continuation in
            openingQueue.async { [self] in
                continuation.resume(with: Result { try open(name) })
            }
        }
    }

    private func open(_ name: Name) throws -> ServedModel {
        try opening.withLock { _ in
            if let served = opened.withLock({ $0.byName[name] }) { return served }
            let configuration: FilterConfiguration
            do {
                configuration = try resolve(name.model, name.dimensions)
            } catch ServedModelError.unknown(let model) {
                throw APIError.unknownModel(model)
            } catch ServedModelError.invalid(let message) {
                throw APIError.invalid(message, name.dimensions == nil ? "model" : "dimensions")
            } catch ServedModelError.unusable(let message) {
                reporter.warn("model \(name.model) cannot be served: \(message)")
                throw APIError.unusableModel(name.model)
            }
            let identity = configuration.identity.canonical
            if let served = opened.withLock({ $0.byIdentity[identity] }) {
                opened.withLock { $0.byName[name] = served }
                return served
            }
            guard opened.withLock({ $0.byIdentity.count }) < limit else {
                throw APIError.tooManyModels(limit)
            }
            let metrics = self.metrics.model(name.model)
            let service = try ModelService.open(configuration, gatherDelay: gatherDelay, reporter: reporter) {
                MeteredProvider(base: $0, metrics: metrics)
            }
            let served = ServedModel(service: service, metrics: metrics)
            opened.withLock {
                $0.byName[name] = served
                $0.byIdentity[identity] = served
            }
            return served
        }
    }

    /// Sends what waits, commits, closes every cache.
    func close() {
        let services = opened.withLock { opened in
            defer { opened = Opened() }
            return Array(opened.byIdentity.values)
        }
        for served in services { served.service.close() }
    }
}
