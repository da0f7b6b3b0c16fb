import EmbCacheCore

/// Every table of a SQLite cache directory, its statements and its
/// version, in one place.
///
/// The layout is the Python `embeddingcache` 0.1.0's, which must go on
/// reading it: `hashstring.sqlite` holds `hashstring (hashid, text)`, and
/// one file per model holds `embedding (hashid, embedding)`. Those two
/// tables are made as the package declares them when missing and are
/// never changed: no migration touches them, and `hashstring.sqlite` holds
/// nothing else. What embcache adds lives in each model file, in tables
/// the package ignores, and is versioned by `schema_version` in
/// `embcache_metadata`:
///
/// - 0: a file of the Python package (no metadata).
/// - 1: `embcache_metadata (key, value)`: the identity, dimension, dtype,
///   provider, version and creator of the file.
/// - 2: `embcache_checksum (key_prefix, checksum)` (see `RowChecksum`),
///   made in every file. Files of earlier releases recorded version 1
///   with no checksum table, or with one keyed by the whole hash whose
///   checksums an earlier fold computed; that one is dropped, and its rows
///   are served unchecked, as the Python package's are.
///
/// A writable store migrates its file when it opens it, in the write
/// transaction that makes the tables; readers (lookup-only runs, stats,
/// export, verify) read files of every version up to this one and refuse
/// a later one.
public enum SQLiteSchema {
    public static let hashstringFileName = "hashstring.sqlite"

    /// The Python package's tables and their columns.
    package static let texts = "hashstring"
    package static let vectors = "embedding"
    /// embcache's own tables, in the model file.
    package static let metadata = "embcache_metadata"
    static let checksums = "embcache_checksum"
    /// The metadata key of the version.
    static let versionKey = "schema_version"

    /// The version this embcache writes.
    package static var version: Int { migrator.latest }

    /// The Python package's two tables, as SQLAlchemy declares them; the
    /// model file is `main`, hashstring.sqlite is attached as `hs`.
    static let createPackageTables = """
        CREATE TABLE IF NOT EXISTS hs.\(texts) (
        \thashid VARCHAR(128) NOT NULL, \n\ttext VARCHAR, \n\tPRIMARY KEY (hashid), \n\tUNIQUE (text)
        );
        CREATE TABLE IF NOT EXISTS main.\(vectors) (
        \thashid VARCHAR(128) NOT NULL, \n\tembedding BLOB, \n\tPRIMARY KEY (hashid)
        );
        """
    static let createMetadata =
        "CREATE TABLE IF NOT EXISTS main.\(metadata) (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    static let createChecksums =
        "CREATE TABLE IF NOT EXISTS main.\(checksums) (key_prefix INTEGER PRIMARY KEY, checksum INTEGER NOT NULL)"

    /// The steps from the Python package's layout to this one's. Written
    /// once each; a change of embcache's own tables is a new step.
    package static let migrator: SchemaMigrator<SQLiteConnection> = {
        var migrator = SchemaMigrator<SQLiteConnection>()
        migrator.register(1, "metadata") { db in try db.execute(createMetadata) }
        migrator.register(2, "row checksums keyed by the key's prefix") { db in
            if try tableExists(db, checksums), try !hasColumn(db, checksums, "key_prefix") {
                try db.execute("DROP TABLE main.\(checksums)")
            }
            try db.execute(createChecksums)
        }
        return migrator
    }()

    /// Brings the model file of `db` to this version, inside the caller's
    /// write transaction; refuses a file of a later one.
    package static func migrate(_ db: SQLiteConnection, path: String) throws {
        let stored = try storedVersion(readMetadata(db, path: path, checkingVersion: false), path: path)
        try migrator.migrate(db, from: stored, at: path) { db, reached in
            let record = try db.prepare(
                "INSERT OR REPLACE INTO main.\(metadata) (key, value) VALUES ('\(versionKey)', ?1)")
            try record.bind(text: String(reached), at: 1)
            try record.step()
        }
    }

    /// The version a file's metadata records: 0 for none.
    package static func storedVersion(_ metadata: [String: String], path: String) throws -> Int {
        guard let recorded = metadata[versionKey] else { return 0 }
        guard let version = Int(recorded), version >= 0 else {
            throw EmbCacheError.unusableCache(path: path, reason: "has schema version \"\(recorded)\", not a number")
        }
        return version
    }

    /// The model file's metadata (empty for a file of the Python package),
    /// refusing a file of a later version than this one.
    static func readMetadata(
        _ connection: SQLiteConnection, path: String, checkingVersion: Bool = true
    ) throws -> [String: String] {
        guard try tableExists(connection, metadata) else { return [:] }
        let select = try connection.prepare("SELECT key, value FROM main.\(metadata)")
        var found: [String: String] = [:]
        while try select.step() {
            if let key = select.text(at: 0), let value = select.text(at: 1) { found[key] = value }
        }
        if checkingVersion { try migrator.check(storedVersion(found, path: path), at: path) }
        return found
    }

    static func tableExists(_ connection: SQLiteConnection, _ table: String) throws -> Bool {
        let exists = try connection.prepare("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1")
        try exists.bind(text: table, at: 1)
        return try exists.step()
    }

    static func hasColumn(_ connection: SQLiteConnection, _ table: String, _ column: String) throws -> Bool {
        let exists = try connection.prepare("SELECT 1 FROM pragma_table_info(?1, 'main') WHERE name = ?2")
        try exists.bind(text: table, at: 1)
        try exists.bind(text: column, at: 2)
        return try exists.step()
    }
}
