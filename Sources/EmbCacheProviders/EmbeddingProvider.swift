import EmbCacheCore

/// How many texts, and how many UTF-8 bytes of them, one request may carry.
/// Bytes bound tokens from above for byte-level tokenizers, so a batch
/// under the byte limit never breaks a token limit.
public struct BatchLimits: Sendable, Equatable {
    public var texts: Int
    public var bytes: Int

    public init(texts: Int, bytes: Int) {
        self.texts = texts
        self.bytes = bytes
    }
}

/// A provider request that waits before it goes out, for the progress line.
public struct ProviderWait: Sendable {
    public enum Reason: Sendable, Equatable {
        /// Spread out under `--rpm` and `--tpm`.
        case paced
        /// Before another attempt of a failed request; after a 429 when
        /// `rateLimited`.
        case retry(rateLimited: Bool)
    }

    public var reason: Reason
    public var until: ContinuousClock.Instant

    public init(reason: Reason, until: ContinuousClock.Instant) {
        self.reason = reason
        self.until = until
    }
}

/// Turns a batch of texts into one vector per text, in order. Called from
/// several threads at once, up to `--max-requests`.
public protocol EmbeddingProvider: Sendable {
    /// The name used in messages and recorded in the cache's metadata.
    var name: String { get }
    /// The dimension of every vector, when it is known before any request.
    var dimension: Int? { get }
    /// The largest batch one request may carry.
    var limits: BatchLimits { get }

    func embed(_ texts: [String]) throws -> [[Float]]

    /// Requests, retries and waits so far, for providers that count them.
    var providerStatistics: ProviderStatistics? { get }

    /// The run is stopping: no more retries, no more waits. A request in
    /// flight finishes.
    func cancel()
}

extension EmbeddingProvider {
    public var providerStatistics: ProviderStatistics? { nil }

    public func cancel() {}

    /// Embeds and checks the answer: one finite vector per text, all of
    /// one dimension: `expected` (what the cache holds or an earlier batch
    /// gave), else the provider's own, else the first vector's. A bad
    /// answer throws and nothing of it may be cached.
    public func embedChecked(_ texts: [String], dimension expected: Int? = nil) throws -> [[Float]] {
        let vectors = try embed(texts)
        guard vectors.count == texts.count else {
            throw EmbCacheError.provider(
                name: name, message: "answered \(vectors.count) vectors for a batch of \(texts.count) texts")
        }
        let width = expected ?? dimension ?? vectors.first?.count ?? 0
        for (index, vector) in vectors.enumerated() {
            guard vector.count == width, width > 0 else {
                throw EmbCacheError.provider(
                    name: name,
                    message: "vector \(index + 1) of the batch has \(vector.count) dimensions, expected \(width)")
            }
            guard vector.allSatisfy(\.isFinite) else {
                throw EmbCacheError.provider(
                    name: name, message: "vector \(index + 1) of the batch holds NaN or infinity")
            }
        }
        return vectors
    }
}

/// Counts of what the provider did, for `-v`.
public struct ProviderStatistics: Sendable, Equatable {
    public var requests = 0
    public var retries = 0
    /// Time spent waiting for rate limits: pacing (`--rpm`, `--tpm`) and
    /// 429 answers.
    public var rateLimitWait: Duration = .zero

    public init() {}
}

/// The provider refused the content of a batch (400, 413, 422): one of its
/// texts is too long, empty or otherwise unacceptable. The pipeline splits
/// the batch to find which.
public struct ProviderRejection: Error, Sendable {
    public var status: Int
    public var message: String
}
