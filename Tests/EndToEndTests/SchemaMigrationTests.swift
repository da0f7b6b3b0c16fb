import Foundation
import Testing

/// The model file's own tables are versioned (`schema_version` in
/// `embcache_metadata`) and migrated by registered steps when a writable
/// run opens the file; the tables the Python package reads never change.
/// The fixture is a cache as embcache wrote it at schema version 1.
@Suite struct SchemaMigrationTests {
    static let fixture = Embcache.fixtures.appendingPathComponent("schema-1-cache")
    static let modelFile = "embedding-hash-16.sqlite"

    /// A writable copy of the fixture (the fixture itself is read-only).
    func fixtureCopy() throws -> TemporaryDirectory {
        let copy = TemporaryDirectory()
        for name in ["hashstring.sqlite", Self.modelFile] {
            try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent(name), to: copy.file(name))
        }
        return copy
    }

    var texts: Data { get throws { try Data(contentsOf: Self.fixture.appendingPathComponent("texts.jsonl")) } }

    /// Every record answered from the cache alone, byte for byte as the
    /// run that wrote the fixture answered it.
    func expectServedFromTheCache(_ cache: TemporaryDirectory) throws {
        let served = try Embcache.run(
            ["--model", "hash-16", "--offline", "--cache-dir", cache.path, "-v"], stdin: try texts)
        #expect(served.status == 0, "\(served.stderrText)")
        #expect(served.stderrText.contains("4 hits"), "\(served.stderrText)")
        #expect(served.stdout == (try Data(contentsOf: Self.fixture.appendingPathComponent("expected.jsonl"))))
    }

    /// The model file's tables, their columns and its schema_version.
    func layout(_ cache: TemporaryDirectory) throws -> String {
        let result = try python(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            tables = sorted(r[0] for r in db.execute("select name from sqlite_master where type = 'table'"))
            for t in tables:
                print(t, ",".join(r[1] for r in db.execute("select * from pragma_table_info(?)", (t,))))
            if "embcache_metadata" in tables:
                print("version", dict(db.execute("select key, value from embcache_metadata")).get("schema_version"))
            """, [cache.file(Self.modelFile).path])
        try #require(result.status == 0, "\(result.stderrText)")
        return result.stdoutText
    }

    func tamper(_ cache: TemporaryDirectory, _ script: String) throws {
        let result = try python(
            "import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.executescript(sys.argv[2])\ndb.commit()",
            [cache.file(Self.modelFile).path, script])
        try #require(result.status == 0, "\(result.stderrText)")
    }

    /// Current: version 2, the checksums keyed by the key's prefix, the
    /// Python package's table as it was.
    func expectCurrentLayout(_ cache: TemporaryDirectory) throws {
        let found = try layout(cache)
        #expect(found.contains("version 2\n"), "\(found)")
        #expect(found.contains("embcache_checksum key_prefix,checksum\n"), "\(found)")
        #expect(found.contains("embedding hashid,embedding\n"), "\(found)")
    }

    @Test func aCacheOfSchemaOneIsMigratedByAWritableRunAndServesItsVectors() throws {
        let cache = try fixtureCopy()
        #expect(try layout(cache).contains("version 1\n"))
        // Read-only runs read it as it is, and change nothing.
        try expectServedFromTheCache(cache)
        #expect(try layout(cache).contains("version 1\n"))
        let run = try Embcache.run(
            ["--model", "hash-16", "--cache-dir", cache.path],
            stdin: "{\"text\":\"a text the fixture does not hold\"}\n")
        #expect(run.status == 0, "\(run.stderrText)")
        try expectCurrentLayout(cache)
        try expectServedFromTheCache(cache)
        let verify = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
    }

    @Test func aFileOfThePythonPackageGetsEmbcachesTablesAndKeepsItsVectors() throws {
        let cache = try fixtureCopy()
        try tamper(cache, "DROP TABLE embcache_metadata; DROP TABLE embcache_checksum;")
        #expect(!(try layout(cache).contains("version")))
        let run = try Embcache.run(["--model", "hash-16", "--cache-dir", cache.path], stdin: try texts)
        #expect(run.status == 0, "\(run.stderrText)")
        try expectCurrentLayout(cache)
        try expectServedFromTheCache(cache)
    }

    /// Files written between the first checksums and the present ones
    /// (schema version 1 too) keyed them by the whole hash, with another
    /// fold: that table is dropped and its rows are served unchecked.
    @Test func aChecksumTableOfTheFirstFoldIsReplacedAndItsRowsServedUnchecked() throws {
        let cache = try fixtureCopy()
        try tamper(
            cache,
            """
            DROP TABLE embcache_checksum;
            CREATE TABLE embcache_checksum (hashid BLOB PRIMARY KEY, checksum INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO embcache_checksum SELECT hashid, 12345 FROM embedding;
            """)
        try expectServedFromTheCache(cache)
        let run = try Embcache.run(
            ["--model", "hash-16", "--cache-dir", cache.path], stdin: "{\"text\":\"one more text\"}\n")
        #expect(run.status == 0, "\(run.stderrText)")
        try expectCurrentLayout(cache)
        try expectServedFromTheCache(cache)
        let verify = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
    }

    @Test func aFileOfALaterSchemaIsRefusedAndLeftAsItIs() throws {
        let cache = try fixtureCopy()
        try tamper(cache, "UPDATE embcache_metadata SET value = '3' WHERE key = 'schema_version';")
        for arguments in [
            ["--model", "hash-16", "--cache-dir", cache.path],
            ["--model", "hash-16", "--offline", "--cache-dir", cache.path],
        ] {
            let refused = try Embcache.run(arguments, stdin: try texts)
            #expect(refused.status == 78, "\(refused.stderrText)")
            #expect(refused.stderrText.contains("schema version 3"), "\(refused.stderrText)")
            #expect(refused.stderrText.contains(Self.modelFile), "\(refused.stderrText)")
        }
        let stats = try Embcache.run(["stats", "--cache-dir", cache.path])
        #expect(stats.status == 78, "\(stats.stderrText)")
        #expect(try layout(cache).contains("version 3\n"))
    }
}
