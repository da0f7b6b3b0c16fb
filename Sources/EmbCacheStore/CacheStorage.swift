import EmbCacheCore

/// A whole cache: the texts, and the vectors of each model identity. It is
/// a directory of SQLite files (`SQLiteStorage`) or a PostgreSQL database
/// shared by a team; the filter and every subcommand work through this, so
/// both engines give the same answers.
public protocol CacheStorage: AnyObject, Sendable {
    /// Where the cache is, for messages: a directory, or a URL without its
    /// password.
    var location: String { get }

    /// One model's vectors. `provider` names what computes the misses; nil
    /// opens it for lookups only: nothing is created or changed, and a
    /// model the cache does not hold answers every key with a miss.
    func openModel(_ identity: ModelIdentity, provider: String?, expectedDimension: Int?) throws -> VectorStore

    /// What the cache holds, per model (or only `model`'s, which must exist).
    func summarize(model: ModelIdentity?) throws -> CacheSummary

    /// Every row of one model, in the order they were written, from one
    /// consistent snapshot. `model` must match what the storage records.
    func readRows(of model: ModelIdentity, withText: Bool) throws -> ModelRowReader

    /// Deletes the texts no model uses; never one a writer is adding.
    func collectGarbage() throws -> CollectedGarbage

    /// Removes one model's vectors; returns how many there were.
    func removeModel(_ model: ModelIdentity) throws -> Int

    /// Checks every row; `report` gets a line per problem. `repair`
    /// deletes bad rows, which a later run computes again.
    func verify(model: ModelIdentity?, repair: Bool, report: (String) -> Void) throws -> VerificationSummary
}

/// What `gc` did.
public struct CollectedGarbage: Sendable, Equatable {
    public var textsDeleted: Int
    public var bytesBefore: Int
    public var bytesAfter: Int
    /// Model files that held no vector, left by runs of versions that
    /// made a model's file before its first vector.
    public var emptyModelFiles: [String]

    public init(textsDeleted: Int, bytesBefore: Int, bytesAfter: Int, emptyModelFiles: [String] = []) {
        self.textsDeleted = textsDeleted
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
        self.emptyModelFiles = emptyModelFiles
    }
}

/// What `verify` found and mended.
public struct VerificationSummary: Sendable, Equatable {
    public var problems = 0
    public var repaired = 0
    /// Vectors whose text is not in hashstring.sqlite: their hash can't
    /// be checked, but lookups by hash still find them.
    public var vectorsWithoutText = 0
    /// Vectors stored without a checksum (by the Python package or an
    /// earlier version): their bytes can't be checked.
    public var vectorsWithoutChecksum = 0
    public var rowsChecked = 0

    public init() {}
}

/// One stored row read back, for export and copy.
public struct StoredRow {
    /// nil when the stored hash is not 64 bytes.
    public var key: CacheKey?
    public var hashBytes: Int
    public var vector: StoredVector
    /// Read only when asked for; nil then means the text is missing.
    public var text: String?

    public init(key: CacheKey?, hashBytes: Int, vector: StoredVector, text: String?) {
        self.key = key
        self.hashBytes = hashBytes
        self.vector = vector
        self.text = text
    }
}

/// Reads a model's rows a chunk at a time.
public protocol ModelRowReader: AnyObject {
    /// The file or table, for messages.
    var name: String { get }
    var dimension: Int? { get }
    /// The identity the storage records (nil for a file of the Python
    /// package, which records none), and the provider that computed it.
    var model: String? { get }
    var provider: String? { get }
    /// Up to `limit` rows; empty at the end.
    func next(limit: Int) throws -> [StoredRow]
}

extension CacheSummary {
    /// The one model of a summary for `model`, checked to hold that
    /// identity's vectors and not those of a name that slugs the same.
    package func only(_ model: ModelIdentity, at location: String) throws -> ModelFileSummary {
        let found = models[0]
        if let named = found.model, named != model.canonical {
            throw EmbCacheError.unusableCache(
                path: location + "/" + found.file,
                reason: "holds vectors of model \"\(named)\", not \"\(model.canonical)\"")
        }
        return found
    }
}
