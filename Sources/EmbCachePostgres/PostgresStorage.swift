import EmbCacheCore
import EmbCacheStore
import Glibc

/// A cache shared by a team on PostgreSQL: the same tables as the SQLite
/// layout, one database (see `PostgresSchema`); one table per model
/// identity, named as its SQLite file is (`embedding-<slug>`),
/// `(hashid bytea PRIMARY KEY, embedding bytea)` with little-endian
/// float32 vectors.
public final class PostgresStorage: CacheStorage, @unchecked Sendable {
    public let address: PostgresAddress
    public var location: String { address.redacted }
    /// How long a lost server is waited for before giving up (status 74).
    let retryBound: Double

    public init(address: PostgresAddress, retryBound: Double = 30) {
        self.address = address
        self.retryBound = retryBound
    }

    /// The table of a model identity: its SQLite file's name, cut to
    /// PostgreSQL's 63 bytes with a digest of the identity when longer.
    public static func tableName(_ identity: ModelIdentity) -> String {
        let name = String(identity.fileName.dropLast(".sqlite".count))
        guard name.utf8.count > 63 else { return name }
        return name.prefix(54) + "-" + CacheKey(text: identity.canonical).hex.prefix(8)
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }

    // MARK: - Connections

    /// A new connection, waiting out a server that is starting or
    /// restarting.
    func connect() throws -> PostgresConnection {
        var connection: PostgresConnection?
        try retrying(nil) { () in connection = try PostgresConnection(address) }
        // Texts are UTF-8, and their keys are digests of those bytes.
        if let encoding = connection!.serverEncoding, encoding != "UTF8" {
            throw EmbCacheError.unusableCache(
                path: location, reason: "the database's encoding is \(encoding); a cache needs UTF8 (createdb -E UTF8)")
        }
        return connection!
    }

    /// Waits up to 0.1 s × 2^(n − 1) before retry n, at most 2 s, for at
    /// most `retryBound` seconds in all, the last wait cut to fit.
    var retryPolicy: RetryPolicy {
        RetryPolicy(
            attempts: nil, base: .milliseconds(100), cap: .seconds(2), budget: .seconds(retryBound),
            shortensLastWait: true)
    }

    /// Runs `body`; while it fails with a transient error, reconnects and
    /// runs it again, with backoff, for at most `retryBound` seconds. Every
    /// write is idempotent, so running one twice changes nothing. A signal
    /// ends the waits, but not those of a commit (`committing`): an
    /// interrupted run commits what it computed before it exits.
    @discardableResult
    func retrying<T>(
        _ connection: PostgresConnection?, committing: Bool = false, _ body: () throws -> T
    ) throws -> T {
        let policy = committing ? retryPolicy.waitingThroughInterrupts : retryPolicy
        do {
            return try policy.run(
                retryingOn: { ($0 as? PostgresError)?.isTransient == true },
                beforeRetry: { if let connection, connection.isBroken { _ = connection.reconnect() } },
                body)
        } catch let error as PostgresError {
            throw error.storeError
        }
    }

    // MARK: - Schema

    /// True once the shared tables exist; refuses a schema from a later
    /// release.
    func schemaExists(_ connection: PostgresConnection) throws -> Bool {
        let found = try connection.run("SELECT to_regclass('\(PostgresSchema.versions)') IS NOT NULL::boolean")
        guard found.bytes(0, 0)?.first == 1 else { return false }
        let version = try connection.run("SELECT max(version)::int8 FROM \(PostgresSchema.versions)").int(0, 0) ?? 0
        try PostgresSchema.migrator.check(version, at: location)
        return true
    }

    /// Creates the shared tables, or migrates them, once, whoever comes
    /// first (see `PostgresSchema.migrate`). Nothing is created when all
    /// is there: a teammate who may read and write the tables but not
    /// create any in the schema still works.
    func createSchema(_ connection: PostgresConnection) throws {
        let version = try retrying(connection) { () in try PostgresSchema.storedVersion(connection) }
        if version < PostgresSchema.version {
            try retrying(connection) { () in
                try PostgresSchema.migrate(connection, location: location, createdBy: Self.createdBy)
            }
        }
        try retrying(connection) { () in _ = try schemaExists(connection) }
    }

    static let createdBy = "embcache \(EmbCacheVersion.current)".replacing("'", with: "")

    /// The metadata of every model table that exists, by table name.
    func modelTables(_ connection: PostgresConnection) throws -> [String: [String: String]] {
        let result = try connection.run(
            "SELECT model_table, key, value FROM embcache_metadata WHERE to_regclass(quote_ident(model_table)) IS NOT NULL"
        )
        var tables: [String: [String: String]] = [:]
        for row in 0..<result.rows {
            guard let table = result.text(row, 0), let key = result.text(row, 1) else { continue }
            tables[table, default: [:]][key] = result.text(row, 2)
        }
        return tables
    }

    /// The table of `model`, checked to hold that identity's vectors (and
    /// not those of another name that slugs the same).
    func existingTable(_ connection: PostgresConnection, _ model: ModelIdentity) throws -> (String, [String: String]) {
        guard let metadata = try modelMetadata(connection, model) else {
            throw EmbCacheError.configuration("no vectors of model \"\(model.canonical)\" in \(location)")
        }
        return (Self.tableName(model), metadata)
    }

    /// The metadata of `model`'s table; nil when there is none.
    func modelMetadata(_ connection: PostgresConnection, _ model: ModelIdentity) throws -> [String: String]? {
        let table = Self.tableName(model)
        guard try schemaExists(connection), let metadata = try modelTables(connection)[table] else { return nil }
        if let named = metadata["model"], named != model.canonical {
            throw EmbCacheError.unusableCache(
                path: location + " table " + table,
                reason: "holds vectors of model \"\(named)\", not \"\(model.canonical)\"")
        }
        return metadata
    }

    // MARK: - CacheStorage

    public func openModel(_ identity: ModelIdentity, provider: String?, expectedDimension: Int?) throws -> VectorStore {
        try PostgresStore(storage: self, identity: identity, provider: provider, expectedDimension: expectedDimension)
    }

    public func summarize(model: ModelIdentity?) throws -> CacheSummary {
        let connection = try connect()
        return try retrying(connection) { () in
            try connection.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { () in
                try summarize(connection, model: model)
            }
        }
    }

    private func summarize(_ connection: PostgresConnection, model: ModelIdentity?) throws -> CacheSummary {
        var summary = CacheSummary(
            directory: location, textStore: "table hashstring", models: [], texts: 0, textBytes: 0, unusedTexts: 0)
        guard try schemaExists(connection) else {
            if let model {
                throw EmbCacheError.configuration("no vectors of model \"\(model.canonical)\" in \(location)")
            }
            return summary
        }
        let tables = try modelTables(connection)
        let chosen = try model.map { [try existingTable(connection, $0).0] } ?? tables.keys.sorted()
        for table in chosen {
            let metadata = tables[table] ?? [:]
            let counts = try connection.run(
                "SELECT count(*), pg_total_relation_size($1::regclass) FROM \(Self.quoted(table))",
                [.text(Self.quoted(table))])
            summary.models.append(
                ModelFileSummary(
                    file: table, model: metadata["model"], dimension: metadata["dimension"].flatMap { Int($0) },
                    dtype: metadata["dtype"], provider: metadata["provider"], vectors: counts.int(0, 0) ?? 0,
                    bytes: counts.int(0, 1) ?? 0))
        }
        let texts = try connection.run(
            """
            SELECT count(*), pg_total_relation_size('hashstring'),
                count(*) FILTER (WHERE \(Self.unused(tables.keys.sorted()))) FROM hashstring h
            """)
        summary.texts = texts.int(0, 0) ?? 0
        summary.textBytes = texts.int(0, 1) ?? 0
        summary.unusedTexts = texts.int(0, 2) ?? 0
        return summary
    }

    /// A condition on `hashstring h`: no model table holds its key.
    static func unused(_ tables: [String]) -> String {
        guard !tables.isEmpty else { return "true" }
        return tables.map { "NOT EXISTS (SELECT 1 FROM \(quoted($0)) m WHERE m.hashid = h.hashid)" }
            .joined(separator: " AND ")
    }

    public func readRows(of model: ModelIdentity, withText: Bool) throws -> ModelRowReader {
        try PostgresRowReader(storage: self, model: model, withText: withText)
    }

    /// Holds an exclusive lock on hashstring from choosing the texts to
    /// deleting them: writers add a text and its vector in one statement,
    /// so none is between the two while the lock is held.
    public func collectGarbage() throws -> CollectedGarbage {
        let connection = try connect()
        let size = "SELECT pg_total_relation_size('hashstring')"
        let before = try retrying(connection) { () in
            guard try schemaExists(connection) else {
                throw EmbCacheError.configuration("no cache at \(location)")
            }
            return try connection.run(size).int(0, 0) ?? 0
        }
        let deleted = try retrying(connection) { () in
            try connection.transaction { () in
                try connection.script("LOCK TABLE hashstring IN EXCLUSIVE MODE")
                let tables = try modelTables(connection).keys.sorted()
                return try connection.run("DELETE FROM hashstring h WHERE \(Self.unused(tables))").changed
            }
        }
        let after = try retrying(connection) { () in
            try connection.script("VACUUM hashstring")
            return try connection.run(size).int(0, 0) ?? 0
        }
        return CollectedGarbage(textsDeleted: deleted, bytesBefore: before, bytesAfter: after)
    }

    public func removeModel(_ model: ModelIdentity) throws -> Int {
        let connection = try connect()
        return try retrying(connection) { () in
            try connection.transaction { () in
                try connection.script("SELECT pg_advisory_xact_lock(\(PostgresSchema.lock))")
                let (table, _) = try existingTable(connection, model)
                let count = try connection.run("SELECT count(*) FROM \(Self.quoted(table))").int(0, 0) ?? 0
                try connection.script("DROP TABLE \(Self.quoted(table))")
                try connection.run("DELETE FROM embcache_metadata WHERE model_table = $1", [.text(table)])
                return count
            }
        }
    }

    public func verify(model: ModelIdentity?, repair: Bool, report: (String) -> Void) throws -> VerificationSummary {
        try PostgresVerifier(storage: self, connection: connect()).verify(model: model, repair: repair, report: report)
    }
}
