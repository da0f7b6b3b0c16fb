import Foundation
import Testing

@testable import EmbCacheCore
@testable import EmbCachePostgres
@testable import EmbCacheStore

/// Registered migrations: in order, each once, the version recorded, a
/// later version refused. On real SQLite files and, with the test server,
/// a real PostgreSQL database.
@Suite struct SchemaMigratorTests {
    func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("migrator-\(UUID()).sqlite").path
    }

    func tables(_ db: SQLiteConnection) throws -> [String] {
        let select = try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try select.step() { names.append(select.text(at: 0) ?? "") }
        return names
    }

    /// Two steps making a table each, recording the version in `user_version`.
    func twoSteps() -> SchemaMigrator<SQLiteConnection> {
        var migrator = SchemaMigrator<SQLiteConnection>()
        migrator.register(1, "first") { db in try db.execute("CREATE TABLE one (x)") }
        migrator.register(2, "second") { db in try db.execute("CREATE TABLE two (x)") }
        return migrator
    }

    func migrate(_ migrator: SchemaMigrator<SQLiteConnection>, _ db: SQLiteConnection) throws -> Int {
        let from = Int(try db.scalarText("PRAGMA user_version") ?? "0") ?? 0
        return try migrator.migrate(db, from: from, at: "test.sqlite") { db, reached in
            try db.execute("PRAGMA user_version = \(reached)")
        }
    }

    @Test func stepsRunInOrderOnceEachAndTheVersionIsRecorded() throws {
        let db = try SQLiteConnection(path: temporaryFile())
        var migrator = SchemaMigrator<SQLiteConnection>()
        migrator.register(1, "first") { db in try db.execute("CREATE TABLE one (x)") }
        #expect(try migrate(migrator, db) == 1)
        #expect(try tables(db) == ["one"])
        // A release that adds a step runs only that one.
        migrator.register(2, "second") { db in try db.execute("CREATE TABLE two (x)") }
        #expect(migrator.pending(from: 1).map(\.name) == ["second"])
        #expect(try migrate(migrator, db) == 2)
        #expect(try tables(db) == ["one", "two"])
        // Nothing pending: nothing runs (CREATE TABLE would fail) or changes.
        #expect(try migrate(migrator, db) == 2)
        #expect(try db.scalarText("PRAGMA user_version") == "2")
    }

    @Test func aLaterVersionIsRefusedAsAnUnusableCache() throws {
        let db = try SQLiteConnection(path: temporaryFile())
        try db.execute("PRAGMA user_version = 3")
        #expect {
            try migrate(twoSteps(), db)
        } throws: { error in
            guard case EmbCacheError.unusableCache(let path, let reason) = error else { return false }
            return path == "test.sqlite" && reason.contains("schema version 3") && reason.contains("knows version 2")
        }
        #expect(try tables(db).isEmpty)
    }

    @Test func theSQLiteSchemaMigratesAFileOfThePythonPackageToItsVersion() throws {
        let path = temporaryFile()
        let db = try SQLiteConnection(path: path)
        try db.execute("ATTACH DATABASE '\(temporaryFile())' AS hs")
        try db.execute(SQLiteSchema.createPackageTables)
        #expect(try SQLiteSchema.readMetadata(db, path: path).isEmpty)
        try db.execute("BEGIN IMMEDIATE")
        try SQLiteSchema.migrate(db, path: path)
        try db.execute("COMMIT")
        #expect(SQLiteSchema.version == 2)
        #expect(try tables(db) == ["embcache_checksum", "embcache_metadata", "embedding"])
        #expect(try SQLiteSchema.readMetadata(db, path: path) == ["schema_version": "2"])
        #expect(try RowChecksum.exists(in: db))
    }

    @Test func thePostgreSQLSchemaIsMadeOnceAndRecordsItsVersion() throws {
        guard Engine.postgresURL != nil else { return }
        let url = try Engine.freshDatabase()
        let connection = try PostgresConnection(PostgresAddress(url: url, environment: [:]))
        #expect(try PostgresSchema.storedVersion(connection) == 0)
        try PostgresSchema.migrate(connection, location: "test", createdBy: "test")
        try PostgresSchema.migrate(connection, location: "test", createdBy: "again")
        #expect(try PostgresSchema.storedVersion(connection) == PostgresSchema.version)
        let rows = try connection.run("SELECT version::int8, created_by FROM embcache_schema")
        #expect(rows.rows == 1)
        #expect(rows.int(0, 0) == 1)
        #expect(rows.text(0, 1) == "test")
    }

    /// A database as the releases before registered migrations made it
    /// (their statements, verbatim) is at version 1: opened for writing,
    /// nothing runs again, and its vectors are served.
    @Test func aPostgreSQLDatabaseOfTheFirstLayoutIsServedAsItIs() throws {
        guard Engine.postgresURL != nil else { return }
        let url = try Engine.freshDatabase()
        let connection = try PostgresConnection(PostgresAddress(url: url, environment: [:]))
        let text = "a text stored by an earlier release"
        let key = CacheKey(text: text)
        try connection.script(
            """
            CREATE TABLE IF NOT EXISTS embcache_schema (
                version integer PRIMARY KEY, created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now());
            INSERT INTO embcache_schema (version, created_by) VALUES (1, 'embcache 0.1.0') ON CONFLICT DO NOTHING;
            CREATE TABLE IF NOT EXISTS hashstring (
                hashid bytea PRIMARY KEY, text text NOT NULL,
                CONSTRAINT hashid_is_sha512_of_text CHECK (hashid = sha512(convert_to(text, 'UTF8'))));
            CREATE TABLE IF NOT EXISTS embcache_metadata (
                model_table text NOT NULL, key text NOT NULL, value text NOT NULL,
                PRIMARY KEY (model_table, key));
            CREATE TABLE IF NOT EXISTS "embedding-old-model" (hashid bytea PRIMARY KEY, embedding bytea NOT NULL);
            INSERT INTO embcache_metadata VALUES ('embedding-old-model', 'model', 'old-model'),
                ('embedding-old-model', 'dimension', '2'), ('embedding-old-model', 'schema_version', '1');
            INSERT INTO hashstring VALUES ('\\x\(key.hex)', '\(text)');
            INSERT INTO "embedding-old-model" VALUES ('\\x\(key.hex)', '\\x0000803f00000040');
            """)
        #expect(try PostgresSchema.storedVersion(connection) == 1)
        let storage = PostgresStorage(address: PostgresAddress(url: url, environment: [:]), retryBound: 5)
        let store = try storage.openModel(ModelIdentity(name: "old-model"), provider: "test", expectedDimension: nil)
        #expect(try store.lookup([key]) == [.hit([1, 2])])
        let rows = try connection.run("SELECT created_by FROM embcache_schema")
        #expect(rows.rows == 1)
        #expect(rows.text(0, 0) == "embcache 0.1.0")
    }
}
