import EmbCacheCore
import EmbCacheStore
import Synchronization

/// One model's vectors on PostgreSQL. A window is one lookup (`= ANY`) and
/// one insert statement, each a single round trip; an insert of texts and
/// vectors is one statement, so one transaction. Inserts never fail when
/// another worker stored the same key first: the first vector stays.
final class PostgresStore: VectorStore {
    let identity: ModelIdentity
    private let storage: PostgresStorage
    private let table: String
    /// Lookups and inserts run on two threads at once, each on its own
    /// connection. nil: lookup-only and the model has no table yet.
    private let reader: PostgresConnection?
    private let writer: PostgresConnection?
    private let knownDimension = Mutex<Int?>(nil)
    private var dimensionRecorded: Bool

    var dimension: Int? { knownDimension.withLock { $0 } }

    init(storage: PostgresStorage, identity: ModelIdentity, provider: String?, expectedDimension: Int?) throws {
        self.storage = storage
        self.identity = identity
        table = PostgresStorage.quoted(PostgresStorage.tableName(identity))
        let connection = try storage.connect()
        if let provider {
            try storage.createSchema(connection)
            try Self.createTable(storage, connection, identity: identity, provider: provider)
        }
        let name = PostgresStorage.tableName(identity)
        let found = try storage.retrying(connection) { () in try storage.modelMetadata(connection, identity) }
        guard let metadata = found else {
            // Lookup-only, and the model has no table: every key is a miss.
            reader = nil
            writer = nil
            dimensionRecorded = false
            knownDimension.withLock { $0 = expectedDimension }
            return
        }
        let recorded = metadata["dimension"].flatMap { Int($0) }
        if let expectedDimension, let recorded, expectedDimension != recorded {
            throw EmbCacheError.unusableCache(
                path: storage.location + " table " + name,
                reason:
                    "holds \(recorded)-dimensional vectors, but model \"\(identity.canonical)\" gives \(expectedDimension)"
            )
        }
        dimensionRecorded = recorded != nil
        knownDimension.withLock { $0 = recorded ?? expectedDimension }
        reader = connection
        writer = provider != nil ? try storage.connect() : nil
    }

    /// The model's table and its metadata, created once whoever comes
    /// first; what a table says it holds is never overwritten.
    private static func createTable(
        _ storage: PostgresStorage, _ connection: PostgresConnection, identity: ModelIdentity, provider: String
    ) throws {
        let name = PostgresStorage.tableName(identity)
        let exists = try storage.retrying(connection) { () in
            try storage.modelTables(connection)[name]?["model"] != nil
        }
        if exists { return }
        try storage.retrying(connection) { () in
            try connection.transaction { () in
                try connection.script(
                    """
                    SELECT pg_advisory_xact_lock(\(PostgresSchema.lock));
                    \(PostgresSchema.createModelTable(PostgresStorage.quoted(name)))
                    """)
                for (key, value) in [
                    ("model", identity.canonical), ("dtype", "float32"),
                    ("schema_version", String(PostgresSchema.version)),
                    ("created_by", PostgresStorage.createdBy), ("provider", provider),
                ] {
                    try recordMetadata(connection, table: name, key: key, value: value)
                }
            }
        }
    }

    private static func recordMetadata(_ connection: PostgresConnection, table: String, key: String, value: String)
        throws
    {
        try connection.run(
            "INSERT INTO embcache_metadata (model_table, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [.text(table), .text(key), .text(value)])
    }

    func lookup(_ keys: [CacheKey]) throws -> [StoredVector] {
        guard let reader, !keys.isEmpty else { return keys.map { _ in .miss } }
        let found = try storage.retrying(reader) { () in
            try reader.run("SELECT hashid, embedding FROM \(table) WHERE hashid = ANY($1)", [.keys(keys)])
        }
        var rows: [CacheKey: Int] = [:]
        rows.reserveCapacity(found.rows)
        for row in 0..<found.rows {
            if let hashid = found.bytes(row, 0), let key = CacheKey(bytes: hashid) { rows[key] = row }
        }
        let expected = dimension
        var learned: Int?
        let results = keys.map { key -> StoredVector in
            guard let row = rows[key] else { return .miss }
            let stored = StoredVector.decode(found.bytes(row, 1), dimension: expected)
            if case .hit(let vector) = stored { learned = learned ?? vector.count }
            return stored
        }
        if let learned { knownDimension.withLock { $0 = $0 ?? learned } }
        return results
    }

    func insert(_ entries: [StoreEntry]) throws {
        guard !entries.isEmpty else { return }
        let width = dimension ?? entries[0].vector.count
        if let bad = entries.first(where: { $0.vector.count != width }) {
            throw EmbCacheError.unusableCache(
                path: storage.location + " table " + PostgresStorage.tableName(identity),
                reason: "holds \(width)-dimensional vectors, the provider returned \(bad.vector.count)")
        }
        guard let writer else {
            throw EmbCacheError.configuration("cache \(storage.location) was opened for lookups only")
        }
        if !dimensionRecorded { try recordDimension(width, writer) }
        // In key order, so that two workers storing the same keys take their
        // row locks in the same order and never deadlock; in statements of
        // at most about 64 MB (PostgreSQL refuses a value over 1 GB).
        let sorted = entries.sorted { $0.key < $1.key }
        var start = 0
        while start < sorted.count {
            var end = start
            var bytes = 0
            while end < sorted.count && (end == start || bytes < 64 << 20) {
                bytes += 64 + sorted[end].text.utf8.count + 4 * sorted[end].vector.count
                end += 1
            }
            try insertStatement(Array(sorted[start..<end]), writer)
            start = end
        }
        knownDimension.withLock { $0 = width }
    }

    /// Texts and vectors in one statement: one transaction, and a gc
    /// (which locks hashstring) never comes between a text and its vector.
    private func insertStatement(_ entries: [StoreEntry], _ writer: PostgresConnection) throws {
        // PostgreSQL's text can't hold NUL: such a text's vector is stored
        // and found by its key, but its text is not kept.
        let texts = entries.filter { !$0.text.utf8.contains(0) }
        let kept = entries.filter { !$0.replacesInvalid }
        let replaced = entries.filter(\.replacesInvalid)
        try storage.retrying(writer, committing: true) { () in
            try writer.run(
                """
                WITH texts AS (
                    INSERT INTO hashstring (hashid, text) SELECT * FROM unnest($1::bytea[], $2::text[])
                    ON CONFLICT DO NOTHING),
                replaced AS (
                    INSERT INTO \(table) (hashid, embedding) SELECT * FROM unnest($5::bytea[], $6::bytea[])
                    ON CONFLICT (hashid) DO UPDATE SET embedding = EXCLUDED.embedding)
                INSERT INTO \(table) (hashid, embedding) SELECT * FROM unnest($3::bytea[], $4::bytea[])
                ON CONFLICT DO NOTHING
                """,
                [
                    .keys(texts.map(\.key)), .texts(texts.map(\.text)), .keys(kept.map(\.key)),
                    .vectors(kept.map(\.vector)), .keys(replaced.map(\.key)), .vectors(replaced.map(\.vector)),
                ])
        }
    }

    /// Records the dimension with the first vectors; a table another worker
    /// recorded another dimension for is refused.
    private func recordDimension(_ width: Int, _ writer: PostgresConnection) throws {
        let name = PostgresStorage.tableName(identity)
        let recorded = try storage.retrying(writer, committing: true) { () in
            try Self.recordMetadata(writer, table: name, key: "dimension", value: String(width))
            return try writer.run(
                "SELECT value FROM embcache_metadata WHERE model_table = $1 AND key = 'dimension'", [.text(name)]
            ).text(0, 0).flatMap { Int($0) }
        }
        if let recorded, recorded != width {
            throw EmbCacheError.unusableCache(
                path: storage.location + " table " + name,
                reason: "holds \(recorded)-dimensional vectors, the provider returned \(width)")
        }
        dimensionRecorded = true
    }
}
