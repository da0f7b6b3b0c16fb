import Foundation
import Testing

/// A model file exists only once a vector is stored in it: a run that
/// fails before its first commit leaves none, `models` and `stats` list no
/// empty file, and `gc` removes those older versions left.
@Suite struct EmptyModelFileTests {
    func modelFiles(_ cache: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        return names.filter { $0.hasPrefix("embedding-") && $0.hasSuffix(".sqlite") }
    }

    @Test(arguments: [
        ("a provider that fails", ["--command", "sh -c 'exit 3'"], "{\"text\":\"a\"}\n", Int32(69)),
        ("a bad first record", ["--command", "sh -c 'exit 3'"], "not json\n", Int32(65)),
        ("a missing text field", ["-m", "hash-8"], "{\"txt\":\"a\"}\n", Int32(65)),
    ])
    func aRunThatStoresNothingLeavesNoModelFile(_ name: String, _ flags: [String], _ input: String, _ status: Int32)
        throws
    {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let model = flags.contains("-m") ? [] : ["-m", "failing-model"]
        let run = try Embcache.run(model + flags + ["--cache-dir", cache, "-q"], stdin: input)
        #expect(run.status == status, "\(name): \(run.stderrText)")
        #expect(modelFiles(cache) == [], "\(name)")
        let models = try Embcache.run(["models", "--cache-dir", cache])
        #expect(models.stdout.isEmpty, "\(name): \(models.stdoutText)")
    }

    @Test func anEmptyFileOfAnOlderVersionIsNotListedAndGCRemovesIt() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let filled = try Embcache.run(["-m", "hash-8", "--cache-dir", cache, "-q"], stdin: "{\"text\":\"kept\"}\n")
        try #require(filled.status == 0, "\(filled.stderrText)")
        let made = try python(
            """
            import os, sqlite3, sys, time
            path = sys.argv[1] + "/embedding-left-over.sqlite"
            db = sqlite3.connect(path)
            db.execute("CREATE TABLE embedding (hashid VARCHAR(128) NOT NULL, embedding BLOB, PRIMARY KEY (hashid))")
            db.execute("CREATE TABLE embcache_metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT INTO embcache_metadata VALUES ('model', 'left over')")
            db.commit()
            db.close()
            old = time.time() - 3600
            os.utime(path, (old, old))
            """, [cache])
        try #require(made.status == 0, "\(made.stderrText)")
        let models = try Embcache.run(["models", "--cache-dir", cache])
        #expect(models.stdoutLines.map { $0.split(separator: "\t").first.map(String.init) } == ["hash-8"])
        let stats = try Embcache.run(["stats", "--cache-dir", cache, "--json"])
        #expect(!stats.stdoutText.contains("left"), "\(stats.stdoutText)")
        let gc = try Embcache.run(["gc", "--cache-dir", cache])
        #expect(gc.status == 0, "\(gc.stderrText)")
        #expect(gc.stderrText.contains("removed embedding-left-over.sqlite, which held no vector"), "\(gc.stderrText)")
        #expect(modelFiles(cache) == ["embedding-hash-8.sqlite"])
        // The model with vectors is untouched.
        let again = try Embcache.run(["-m", "hash-8", "--cache-dir", cache, "-v"], stdin: "{\"text\":\"kept\"}\n")
        #expect(again.stderrText.contains("0 computed"), "\(again.stderrText)")
    }
}
