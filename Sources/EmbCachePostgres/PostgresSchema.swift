import EmbCacheStore

/// Every shared table of a cache on PostgreSQL, its statements and its
/// version, in one place (the model tables are `PostgresStore`'s, one per
/// identity, named by `PostgresStorage.tableName`).
///
/// - `hashstring (hashid bytea PRIMARY KEY, text text)`: the text of each
///   SHA-512 digest. The database checks each digest itself; a unique
///   index on the text is not there, since the key already implies it and
///   PostgreSQL's btree refuses entries over about 2.7 kB.
/// - `embcache_metadata (model_table, key, value)`: what each model table
///   holds, the same keys as a SQLite model file's metadata;
/// - `embcache_schema (version, created_by, created_at)`: a row per
///   version a migration reached; the highest is the database's version.
///
/// Versions: 1 is the layout every release so far has made. A change is a
/// new registered step; a database of a later version than this embcache
/// knows is refused (status 78).
enum PostgresSchema {
    static let texts = "hashstring"
    static let metadata = "embcache_metadata"
    static let versions = "embcache_schema"

    /// The version this embcache writes.
    static var version: Int { migrator.latest }

    /// Held while tables are created or migrated, so that workers starting
    /// together do not race.
    static let lock = 0x656D_6263  // "embc"

    static let migrator: SchemaMigrator<PostgresConnection> = {
        var migrator = SchemaMigrator<PostgresConnection>()
        migrator.register(1, "shared tables") { connection in
            try connection.script(
                """
                CREATE TABLE IF NOT EXISTS \(versions) (
                    version integer PRIMARY KEY, created_by text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS \(texts) (
                    hashid bytea PRIMARY KEY, text text NOT NULL,
                    CONSTRAINT hashid_is_sha512_of_text CHECK (hashid = sha512(convert_to(text, 'UTF8'))));
                CREATE TABLE IF NOT EXISTS \(metadata) (
                    model_table text NOT NULL, key text NOT NULL, value text NOT NULL,
                    PRIMARY KEY (model_table, key));
                """)
        }
        return migrator
    }()

    /// A model table's statement.
    static func createModelTable(_ quotedName: String) -> String {
        "CREATE TABLE IF NOT EXISTS \(quotedName) (hashid bytea PRIMARY KEY, embedding bytea NOT NULL)"
    }

    /// The database's version: 0 while the shared tables are not all
    /// there (a step is idempotent, so running it again is harmless).
    static func storedVersion(_ connection: PostgresConnection) throws -> Int {
        let complete =
            try connection.run(
                """
                SELECT to_regclass('\(versions)') IS NOT NULL AND to_regclass('\(texts)') IS NOT NULL
                    AND to_regclass('\(metadata)') IS NOT NULL
                """
            ).bytes(0, 0)?.first == 1
        guard complete else { return 0 }
        return try connection.run("SELECT coalesce(max(version), 0)::int8 FROM \(versions)").int(0, 0) ?? 0
    }

    /// Runs the pending steps under the advisory lock, in one transaction;
    /// each step reached is recorded as a row of `embcache_schema`.
    static func migrate(_ connection: PostgresConnection, location: String, createdBy: String) throws {
        try connection.transaction { () in
            try connection.script("SELECT pg_advisory_xact_lock(\(lock))")
            try migrator.migrate(connection, from: storedVersion(connection), at: location) { connection, reached in
                for step in migrator.steps where step.version <= reached {
                    try connection.run(
                        "INSERT INTO \(versions) (version, created_by) VALUES (\(step.version), $1) ON CONFLICT DO NOTHING",
                        [.text(createdBy)])
                }
            }
        }
    }
}
