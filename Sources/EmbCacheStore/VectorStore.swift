import EmbCacheCore

/// What a store answers for one key.
public enum StoredVector: Sendable, Equatable {
    case hit([Float])
    case miss
    /// A row exists but cannot be trusted (wrong size, NaN): reported and
    /// recomputed, never emitted.
    case invalid(String)
}

/// A vector to store, with the text its key was computed from.
public struct StoreEntry: Sendable {
    public var key: CacheKey
    public var text: String
    public var vector: [Float]
    /// True when a bad row for this key exists and must be overwritten.
    public var replacesInvalid: Bool

    public init(key: CacheKey, text: String, vector: [Float], replacesInvalid: Bool = false) {
        self.key = key
        self.text = text
        self.vector = vector
        self.replacesInvalid = replacesInvalid
    }
}

/// The cache of one model: looks up and inserts a batch. Each call is one
/// transaction, so a batch is stored whole or not at all.
public protocol VectorStore: AnyObject {
    var identity: ModelIdentity { get }
    /// The vectors' dimension, once the store holds or has been told one.
    var dimension: Int? { get }
    func lookup(_ keys: [CacheKey]) throws -> [StoredVector]
    func insert(_ entries: [StoreEntry]) throws
    /// Says how many entries a commit will usually hold (a window), so the
    /// store can size what a commit needs.
    func expectCommits(of count: Int) throws
    /// Ends the store's use, however long the files take to settle; the
    /// store is not used after. Releasing it closes it too.
    func close()
}

extension VectorStore {
    /// Stores with nothing to settle close when released.
    public func close() {}

    /// Stores with nothing to size.
    public func expectCommits(of count: Int) throws {}
}

extension StoredVector {
    /// Checks a stored blob of little-endian float32 against the expected
    /// dimension.
    public static func decode(_ blob: UnsafeRawBufferPointer?, dimension: Int?) -> StoredVector {
        guard let blob else { return .invalid("null vector") }
        let count = blob.count / 4
        if let dimension, blob.count != 4 * dimension {
            return .invalid("vector of \(blob.count) bytes, expected \(4 * dimension) (\(dimension) float32)")
        }
        if blob.count % 4 != 0 || count == 0 {
            return .invalid("vector of \(blob.count) bytes is not a float32 vector")
        }
        var vector = [Float](repeating: 0, count: count)
        vector.withUnsafeMutableBytes { $0.copyMemory(from: blob) }
        #if _endian(big)
            vector = vector.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        for value in vector where !value.isFinite { return .invalid("non-finite value") }
        return .hit(vector)
    }
}
