import EmbCacheCore
import EmbCacheProviders
import EmbCacheStore
import Foundation
import Synchronization

/// Why a served request gets no vectors.
public enum ServeFailure: Error, Sendable {
    /// The text at `index` of the request cannot be embedded as given.
    case input(index: Int, problem: InputProblem)
    /// The provider refused the text at `index` for its content (the
    /// other texts of its batch were embedded).
    case rejected(index: Int, message: String)
    /// The text at `index` is not in the cache and nothing may compute it
    /// (`--offline`).
    case notInCache(index: Int)
    /// The provider failed after its retries; for the server's log only
    /// (it may hold the provider's words).
    case provider(any Error)
    /// The cache could not be read or the vectors could not be committed.
    case store(any Error)
    /// The service is shutting down and takes no new request.
    case closing
}

/// What a served request got: its vectors, in its order and scaled to unit
/// length as the filter writes them, and where they came from.
public struct ServedVectors: Sendable {
    public var vectors: [[Float]]
    /// Distinct texts of the request found in the cache.
    public var hits: Int
    /// Distinct texts this request sent to the provider.
    public var misses: Int
    /// Distinct texts that another request was computing already.
    public var shared: Int

    /// The vectors of `keys`, in their order, scaled to unit length.
    package init(keys: [CacheKey], _ vectors: [CacheKey: [Float]], counts: (hits: Int, misses: Int, shared: Int)) {
        var scaled: [CacheKey: [Float]] = [:]
        for (key, vector) in vectors { scaled[key] = outputVector(vector, normalize: true) }
        self.vectors = keys.map { scaled[$0]! }
        (hits, misses, shared) = counts
    }
}

/// One model behind the server: answers texts from its cache and computes
/// the misses of all requests together. A full batch of misses goes to the
/// provider at once, up to the request slots; a partial one only while no
/// other request to the provider is out, once no miss has come and no
/// answer has gone for `gatherDelay` (at most ten times that after its
/// first, or after the last answers): many clients with a text each then
/// share one request, those just answered among them, instead of falling
/// into groups that each get a small one. A text that one request is computing is
/// never sent again for another, which waits for it instead. The
/// provider's requests are the filter's: its request slots, retries,
/// pacing and splitting of a refused batch. An answer is given only once
/// its vectors are committed.
public final class ModelService: Sendable {
    public let identity: ModelIdentity
    private let store: UnsafeSendable<any VectorStore>
    private let pool: RequestPool?
    private let providerName: String
    private let prefix: String
    private let limits: BatchLimits
    private let gatherDelay: Duration
    private let reporter: Reporter
    private let state = Mutex(State())
    /// Wakes the gatherer: new misses, a free slot, shutdown.
    private let wake = DispatchSemaphore(value: 0)
    private let finished = BoundedQueue<WindowRequests>(capacity: .max)
    private let gathering = DispatchGroup()
    private let committing = DispatchGroup()
    private let requestNumbers = Atomic<Int>(0)

    private struct State {
        /// Keys sent or about to be sent, with the requests waiting for each.
        var waiting: [CacheKey: [PendingRequest]] = [:]
        /// Misses not yet sent, since when the oldest waits, when the last came.
        var pending: [StoreEntry] = []
        var locations: [SourceLocation] = []
        var pendingSince: ContinuousClock.Instant?
        var lastArrival = ContinuousClock.now
        /// When the committer last handed out vectors: the clients that
        /// got them may be about to ask again.
        var lastDelivery = ContinuousClock.now
        var closing = false
    }

    /// Opens the model's cache and provider as the filter would for
    /// `configuration`. `wrap` may put a provider behind another (to
    /// count its requests).
    public static func open(
        _ configuration: FilterConfiguration, gatherDelay: Duration, reporter: Reporter,
        wrap: (any EmbeddingProvider) -> any EmbeddingProvider = { $0 }
    ) throws -> ModelService {
        let made = configuration.provider.makeProvider()
        if let http = made as? HTTPProvider { http.reportRetries { reporter.warn($0) } }
        let provider = made.map(wrap)
        let store = try configuration.storage.openModel(
            configuration.identity, provider: provider?.name,
            expectedDimension: provider?.dimension
                ?? HashEmbedder.dimension(forModel: configuration.identity.name))
        let defaults = provider?.limits ?? BatchLimits(texts: 1, bytes: 1)
        let limits = BatchLimits(
            texts: configuration.batchSize ?? defaults.texts, bytes: configuration.batchBytes ?? defaults.bytes)
        return ModelService(
            identity: configuration.identity, store: store, provider: provider, limits: limits,
            maxRequests: configuration.maxRequests, prefix: configuration.prefix, gatherDelay: gatherDelay,
            reporter: reporter)
    }

    public init(
        identity: ModelIdentity, store: any VectorStore, provider: (any EmbeddingProvider)?, limits: BatchLimits,
        maxRequests: Int, prefix: String, gatherDelay: Duration, reporter: Reporter
    ) {
        self.identity = identity
        self.store = UnsafeSendable(store)
        self.providerName = provider?.name ?? "none"
        self.prefix = prefix
        self.limits = limits
        self.gatherDelay = gatherDelay
        self.reporter = reporter
        let wake = self.wake
        pool = provider.map {
            RequestPool(
                provider: $0, limits: limits, width: maxRequests, dimension: store.dimension, reporter: reporter,
                stopsAtFailure: false, onSlotFree: { wake.signal() })
        }
        gathering.enter()
        Thread.detachNewThread { [self] in
            gather()
            gathering.leave()
        }
        committing.enter()
        Thread.detachNewThread { [self] in
            commit()
            committing.leave()
        }
    }

    /// Embeds the texts of one request; `completion` is called once, from
    /// any thread, when every vector is committed or one text failed.
    public func embed(
        _ texts: [String], completion: @escaping @Sendable (Result<ServedVectors, ServeFailure>) -> Void
    ) {
        if let empty = texts.firstIndex(where: \.isEmpty) {
            return completion(.failure(.input(index: empty, problem: .emptyText)))
        }
        let keys = texts.map { CacheKey(text: prefix + $0) }
        var first: [CacheKey: Int] = [:]
        var distinct: [CacheKey] = []
        for (index, key) in keys.enumerated() where first[key] == nil {
            first[key] = index
            distinct.append(key)
        }
        let number = requestNumbers.add(1, ordering: .relaxed).newValue
        enum Outcome {
            /// Every vector was in the cache.
            case answered([CacheKey: [Float]])
            /// Some are waited for; `sent` when this request added misses.
            case waiting(sent: Bool)
        }
        let outcome: Result<Outcome, ServeFailure> = state.withLock { state in
            guard !state.closing else { return .failure(.closing) }
            // Looked up under the lock that the committer takes to hand out
            // what it committed: a key is either committed or still waited
            // for, never neither, so it is never sent twice.
            let found: [StoredVector]
            do { found = try store.value.lookup(distinct) } catch { return .failure(.store(error)) }
            var hits: [CacheKey: [Float]] = [:]
            var (missed, shared) = (0, 0)
            // Made at the first text this request waits for.
            var request: PendingRequest?
            for (key, stored) in zip(distinct, found) {
                switch stored {
                case .hit(let vector):
                    hits[key] = vector
                case _ where state.waiting[key] != nil:
                    request = request ?? PendingRequest(keys: keys, first: first, completion: completion)
                    state.waiting[key]!.append(request!)
                    shared += 1
                case .miss, .invalid:
                    guard pool != nil else { return .failure(.notInCache(index: first[key]!)) }
                    if case .invalid(let why) = stored {
                        reporter.warn("cached vector \(key.hex.prefix(16))… is unusable (\(why)); computing it again")
                    }
                    request = request ?? PendingRequest(keys: keys, first: first, completion: completion)
                    state.waiting[key] = [request!]
                    let index = first[key]!
                    state.pending.append(
                        StoreEntry(key: key, text: prefix + texts[index], vector: [], replacesInvalid: stored != .miss))
                    state.locations.append(SourceLocation(source: "request \(number) input", line: index))
                    state.lastArrival = .now
                    state.pendingSince = state.pendingSince ?? state.lastArrival
                    missed += 1
                }
            }
            guard let request else { return .success(.answered(hits)) }
            // Still under the lock, so before any of its keys is resolved.
            request.begin(hits: hits, misses: missed, shared: shared)
            return .success(.waiting(sent: missed > 0))
        }
        switch outcome {
        case .failure(let failure):
            completion(.failure(failure))
        case .success(.answered(let hits)):
            completion(.success(ServedVectors(keys: keys, hits, counts: (hits.count, 0, 0))))
        case .success(.waiting(let sent)):
            if sent { wake.signal() }
        }
    }

    /// Stops taking requests, sends what waits, commits what comes back,
    /// closes the cache. Requests already taken are answered first.
    public func close() {
        state.withLock { $0.closing = true }
        wake.signal()
        gathering.wait()
        pool?.close()
        finished.close()
        committing.wait()
        store.value.close()
    }

    /// The gatherer's loop: sends the waiting misses when they fill a
    /// batch; otherwise once the provider has no request out and no miss
    /// has come for `gatherDelay`, or the oldest has waited ten times that;
    /// at shutdown, at once.
    private func gather() {
        while true {
            wake.wait()
            while true {
                enum Step {
                    case send([StoreEntry], [SourceLocation])
                    case sleep(Duration)
                    case idle
                    case stop
                }
                let step: Step = state.withLock { state in
                    guard let since = state.pendingSince else { return state.closing ? .stop : .idle }
                    let bytes = state.pending.reduce(0) { $0 + $1.text.utf8.count }
                    let full = state.pending.count >= limits.texts || bytes >= limits.bytes
                    let now = ContinuousClock.now
                    // Quiet since the last miss came and since the last
                    // answers went out, whose clients then join this batch.
                    let quiet = max(state.lastArrival, state.lastDelivery)
                    let left = min(
                        gatherDelay - (now - quiet), gatherDelay * 10 - (now - max(since, state.lastDelivery)))
                    if state.closing || (left <= .zero && pool!.isIdle) {
                        defer {
                            state.pending = []
                            state.locations = []
                            state.pendingSince = nil
                        }
                        return .send(state.pending, state.locations)
                    }
                    // The full batches go; the rest waits for more.
                    let batches = full ? RequestPool.batches(state.pending.map(\.text), limits: limits) : []
                    let cut = batches.last.map { $0.count == limits.texts ? state.pending.count : $0.first! } ?? 0
                    if cut > 0 {
                        defer {
                            state.pending.removeFirst(cut)
                            state.locations.removeFirst(cut)
                            if state.pending.isEmpty { state.pendingSince = nil }
                        }
                        return .send(Array(state.pending[..<cut]), Array(state.locations[..<cut]))
                    }
                    // Past its delay with a request out: its end wakes us.
                    return left > .zero ? .sleep(left) : .idle
                }
                switch step {
                case .send(let misses, let locations):
                    let finished = self.finished
                    _ = pool!.submit(misses, from: locations) { _ = finished.push($0) }
                    continue
                case .sleep(let duration):
                    _ = wake.wait(timeout: .now() + .nanoseconds(Int(duration / .nanoseconds(1))))
                    continue
                case .idle:
                    break
                case .stop:
                    return
                }
                break
            }
        }
    }

    /// The committer's loop: commits what the provider returned, in one
    /// transaction for all requests finished meanwhile, then hands each
    /// waiting request its vectors (or its failure).
    private func commit() {
        while case let windows = finished.popAvailable(limit: 16), !windows.isEmpty {
            let answers = windows.map { $0.wait() }
            var failure: ServeFailure?
            do {
                try store.value.insert(answers.flatMap(\.computed))
            } catch {
                reporter.warn(
                    "\(identity.name): could not commit \(answers.flatMap(\.computed).count) vectors: \(error)")
                failure = .store(error)
            }
            var deliveries: [(PendingRequest, CacheKey, Result<[Float], KeyFailure>)] = []
            state.withLock { state in
                state.lastDelivery = .now
                for (window, answer) in zip(windows, answers) {
                    var computed: [CacheKey: [Float]] = [:]
                    for entry in answer.computed { computed[entry.key] = entry.vector }
                    for (position, miss) in window.misses.enumerated() {
                        let result: Result<[Float], KeyFailure>
                        if let failure {
                            result = .failure(.other(failure))
                        } else if let vector = computed[miss.key] {
                            result = .success(vector)
                        } else if case .rejected(_, let message) = answer.rejections[position] {
                            result = .failure(.rejected(message))
                        } else if let error = answer.failure {
                            result = .failure(.other(.provider(error)))
                        } else {
                            result = .failure(.other(.closing))
                        }
                        for request in state.waiting.removeValue(forKey: miss.key) ?? [] {
                            deliveries.append((request, miss.key, result))
                        }
                    }
                }
            }
            for (request, key, result) in deliveries { request.resolve(key, result) }
        }
    }
}

/// What one key's computation ended in, for every request waiting for it.
enum KeyFailure: Error {
    case rejected(String)
    case other(ServeFailure)
}

/// One request waiting for the vectors of some of its texts.
final class PendingRequest: Sendable {
    private let keys: [CacheKey]
    private let first: [CacheKey: Int]
    private let completion: @Sendable (Result<ServedVectors, ServeFailure>) -> Void

    private struct State {
        var vectors: [CacheKey: [Float]] = [:]
        var remaining = 0
        var counts = (hits: 0, misses: 0, shared: 0)
        var failure: ServeFailure?
        var answered = false
    }

    private let state = Mutex(State())

    init(
        keys: [CacheKey], first: [CacheKey: Int],
        completion: @escaping @Sendable (Result<ServedVectors, ServeFailure>) -> Void
    ) {
        self.keys = keys
        self.first = first
        self.completion = completion
    }

    /// Records what the cache answered and how many keys are waited for
    /// (at least one: a request made for none is answered at once). Called
    /// under the service's lock, before any of its keys can be resolved.
    func begin(hits: [CacheKey: [Float]], misses: Int, shared: Int) {
        state.withLock {
            $0.vectors = hits
            $0.remaining = misses + shared
            $0.counts = (hits.count, misses, shared)
        }
    }

    func resolve(_ key: CacheKey, _ result: Result<[Float], KeyFailure>) {
        let last = state.withLock { state in
            switch result {
            case .success(let vector):
                state.vectors[key] = vector
            case .failure(.rejected(let message)):
                state.failure = state.failure ?? .rejected(index: first[key]!, message: message)
            case .failure(.other(let failure)):
                state.failure = state.failure ?? failure
            }
            state.remaining -= 1
            return state.remaining == 0
        }
        if last { complete() }
    }

    /// Answers, once: the vectors in the request's order, or the failure.
    private func complete() {
        let answer: Result<ServedVectors, ServeFailure>? = state.withLock { state in
            guard !state.answered else { return nil }
            state.answered = true
            if let failure = state.failure { return .failure(failure) }
            return .success(ServedVectors(keys: keys, state.vectors, counts: state.counts))
        }
        if let answer { completion(answer) }
    }
}
