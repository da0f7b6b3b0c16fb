import EmbCacheCore

/// A cache directory of SQLite files, in the Python `embeddingcache`
/// layout (see `SQLiteStore`).
public final class SQLiteStorage: CacheStorage {
    public let directory: String
    public var location: String { directory }

    public init(directory: String) {
        self.directory = directory
    }

    public func openModel(_ identity: ModelIdentity, provider: String?, expectedDimension: Int?) throws -> VectorStore {
        try SQLiteStore(
            directory: directory, identity: identity, provider: provider, expectedDimension: expectedDimension)
    }

    public func summarize(model: ModelIdentity?) throws -> CacheSummary {
        try SQLiteInventory.summarize(directory: directory, model: model)
    }

    public func readRows(of model: ModelIdentity, withText: Bool) throws -> ModelRowReader {
        try SQLiteRowReader(directory: directory, model: model, withText: withText)
    }

    public func collectGarbage() throws -> CollectedGarbage {
        try SQLiteMaintenance.collectGarbage(directory: directory)
    }

    public func removeModel(_ model: ModelIdentity) throws -> Int {
        try SQLiteMaintenance.removeModel(directory: directory, model: model)
    }

    public func verify(model: ModelIdentity?, repair: Bool, report: (String) -> Void) throws -> VerificationSummary {
        try SQLiteVerifier.verify(directory: directory, model: model, repair: repair, report: report)
    }
}

/// A model file's rows in rowid order, from one read transaction: a
/// consistent snapshot while writers go on.
final class SQLiteRowReader: ModelRowReader {
    let name: String
    let dimension: Int?
    let model: String?
    let provider: String?
    private let db: SQLiteConnection
    private let select: SQLiteStatement
    private let checksums: RowChecksum.Reader?
    private let texts: SQLiteConnection?
    private let textOf: SQLiteStatement?
    private var done = false

    init(directory: String, model identity: ModelIdentity, withText: Bool) throws {
        let summary = try SQLiteInventory.summarize(directory: directory, model: identity)
        let found = try summary.only(identity, at: directory)
        name = found.file
        dimension = found.dimension
        model = found.model
        provider = found.provider
        db = try SQLiteInventory.openReadOnly(directory + "/" + name)
        texts = withText ? try SQLiteInventory.openReadOnly(directory + "/" + SQLiteSchema.hashstringFileName) : nil
        textOf = try texts?.prepare("SELECT text FROM hashstring WHERE hashid = ?1")
        try db.execute("BEGIN")
        checksums = try RowChecksum.Reader(db)
        select = try db.prepare("SELECT hashid, embedding FROM embedding ORDER BY rowid")
    }

    deinit { finish() }

    /// Ends the snapshot: a reader left open would hold off a vacuum.
    private func finish() {
        guard !done else { return }
        done = true
        select.reset()
        textOf?.reset()
        try? db.execute("COMMIT")
    }

    func next(limit: Int) throws -> [StoredRow] {
        var rows: [StoredRow] = []
        while !done, rows.count < limit {
            guard try select.step() else {
                finish()
                break
            }
            let hashid = select.blob(at: 0)
            let key = hashid.flatMap { CacheKey(bytes: $0) }
            var text: String?
            if let key, let textOf {
                textOf.reset()
                try key.withUnsafeBytes { try textOf.bind($0, at: 1) }
                if try textOf.step() { text = textOf.text(at: 0) }
                textOf.reset()
            }
            let blob = select.blob(at: 1)
            var vector = StoredVector.decode(blob, dimension: dimension)
            if let key, let checksums {
                vector = RowChecksum.checked(vector, key: key, blob: blob, recorded: try checksums.recorded(for: key))
            }
            rows.append(StoredRow(key: key, hashBytes: hashid?.count ?? 0, vector: vector, text: text))
        }
        return rows
    }
}
