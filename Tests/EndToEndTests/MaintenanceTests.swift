import Foundation
import Testing

/// The subcommands that look inside a cache, move vectors in and out, check
/// it and keep it tidy.
@Suite struct MaintenanceTests {
    /// A cache holding `count` hash-8 vectors.
    func filledCache(_ count: Int = 20, model: String = "hash-8") throws -> TemporaryDirectory {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(["--model", model, "--cache-dir", cache.path], stdin: corpus(count))
        #expect(result.status == 0)
        return cache
    }

    @Test func statsAndModelsDescribeEveryModelFile() throws {
        let cache = try filledCache(20)
        _ = try Embcache.run(["--model", "hash-4", "--cache-dir", cache.path], stdin: corpus(5, prefix: "other"))
        let json = try Embcache.run(["stats", "--cache-dir", cache.path, "--json"])
        #expect(json.status == 0)
        let stats = try JSONSerialization.jsonObject(with: json.stdout) as! [String: Any]
        let models = stats["models"] as! [[String: Any]]
        #expect(models.map { $0["model"] as! String } == ["hash-4", "hash-8"])
        #expect(models.map { $0["vectors"] as! Int } == [5, 20])
        #expect(models.map { $0["dimension"] as! Int } == [4, 8])
        #expect(stats["texts"] as? Int == 25)
        #expect(stats["unusedTexts"] as? Int == 0)
        let table = try Embcache.run(["stats", "--cache-dir", cache.path, "--model", "hash-8"])
        #expect(table.stdoutLines.count == 4, "\(table.stdoutText)")
        #expect(table.stdoutLines[0] == "cache: \(cache.path)")
        #expect(table.stdoutLines[2].hasPrefix("hash-8  8          float32  20"))
        let listing = try Embcache.run(["models", "--cache-dir", cache.path])
        #expect(listing.stdoutText == "hash-4\t4\t5\nhash-8\t8\t20\n")
    }

    @Test func aMissingCacheOrModelIsAClearError() throws {
        let empty = TemporaryDirectory()
        let missing = try Embcache.run(["stats", "--cache-dir", empty.path + "/none"])
        #expect(missing.status == 78)
        #expect(missing.stderrText.hasPrefix("embcache: no cache at \(empty.path)/none"))
        let cache = try filledCache(2)
        let model = try Embcache.run(["export", "--model", "absent", "--cache-dir", cache.path])
        #expect(model.status == 78)
        #expect(model.stderrText == "embcache: no vectors of model \"absent\" in \(cache.path)\n")
    }

    @Test func getAnswersFromTheCacheOnlyAndAMissFollowsOnError() throws {
        let cache = try filledCache(3)
        let hit = try Embcache.run(["get", "--model", "hash-8", "--cache-dir", cache.path], stdin: corpus(3))
        #expect(hit.status == 0)
        #expect(hit.stdoutLines.count == 3)
        let miss = try Embcache.run(
            ["get", "--model", "hash-8", "--cache-dir", cache.path], stdin: corpus(3) + "{\"text\":\"never seen\"}\n")
        #expect(miss.status == 65)
        #expect(miss.stderrText == "embcache: stdin:4: not in the cache (--offline)\n")
        #expect(miss.stdoutLines.count == 3)
        let null = try Embcache.run(
            ["get", "--model", "hash-8", "--cache-dir", cache.path, "--on-error", "null", "-q"],
            stdin: "{\"text\":\"never seen\"}\n")
        #expect(null.stdoutText == "{\"text\":\"never seen\",\"embedding\":null}\n")
    }

    @Test(arguments: ["jsonl", "base64"])
    func importThenExportRoundTripsBitForBit(format: String) throws {
        let source = try filledCache(50)
        let exported = try Embcache.run(
            ["export", "--model", "hash-8", "--cache-dir", source.path, "--with-text", "--format", format])
        #expect(exported.status == 0)
        let target = TemporaryDirectory()
        let imported = try Embcache.run(
            ["import", "--model", "copy", "--cache-dir", target.path, "--dimensions", "8"], stdin: exported.stdout)
        #expect(imported.status == 0, "\(imported.stderrText)")
        #expect(imported.stderrText == "embcache: imported 50 vectors of copy, 0 already cached, 0 skipped\n")
        let again = try Embcache.run(["import", "--model", "copy", "--cache-dir", target.path], stdin: exported.stdout)
        #expect(again.stderrText == "embcache: imported 0 vectors of copy, 50 already cached, 0 skipped\n")
        let back = try Embcache.run(
            ["export", "--model", "copy", "--cache-dir", target.path, "--with-text", "--format", format])
        #expect(back.stdout == exported.stdout)
        // The blobs themselves are identical, as Python reads them.
        let blobs = try python(
            """
            import sqlite3, sys
            a = sqlite3.connect(sys.argv[1] + "/embedding-hash-8.sqlite").execute("select hashid, embedding from embedding order by hashid").fetchall()
            b = sqlite3.connect(sys.argv[2] + "/embedding-copy.sqlite").execute("select hashid, embedding from embedding order by hashid").fetchall()
            print(a == b, len(a))
            """, [source.path, target.path])
        #expect(blobs.stdoutText == "True 50\n")
    }

    @Test func importReportsWhatItSkipsAndWhy() throws {
        let cache = TemporaryDirectory()
        let input = """
            {"text":"good","embedding":[1,2,3]}
            {"text":"short","embedding":[1,2]}
            {"text":"nan","embedding":"AADAfwAAgD8AAIA/"}
            {"text":"strings","embedding":["1","2","3"]}
            {"embedding":[1,2,3]}
            not json
            {"text":"huge","embedding":[1e39,1,1]}
            {"text":"also good","embedding":[4,5,6]}
            """ + "\n"
        let result = try Embcache.run(["import", "--model", "m", "--cache-dir", cache.path], stdin: input)
        #expect(result.status == 65)
        let lines = result.stderrText.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "embcache: stdin:2: unusable vector: 2 dimensions, expected 3: skipped",
                "embcache: stdin:3: unusable vector: NaN or infinity: skipped",
                "embcache: stdin:4: unusable vector: \"embedding\" is an array, not an array of numbers or base64: skipped",
                "embcache: stdin:5: missing field \"text\": skipped",
                "embcache: stdin:6: invalid JSON: unexpected character 'n' at column 1: skipped",
                "embcache: stdin:7: unusable vector: NaN or infinity: skipped",
                "embcache: imported 2 vectors of m, 0 already cached, 6 skipped",
            ])
    }

    @Test func importFromAnLLMEmbeddingsDatabase() throws {
        let cache = TemporaryDirectory()
        let database = cache.file("embeddings.db").path
        // The schema llm 0.36 creates (llm/embeddings_migrations.py), with two
        // stored texts and one stored without --store.
        let made = try python(
            """
            import sqlite3, struct, sys
            db = sqlite3.connect(sys.argv[1])
            db.executescript('''
            CREATE TABLE collections (id INTEGER PRIMARY KEY, name TEXT, model TEXT);
            CREATE UNIQUE INDEX idx_collections_name ON collections (name);
            CREATE TABLE embeddings (collection_id INTEGER REFERENCES collections(id), id TEXT, embedding BLOB,
              content TEXT, content_hash BLOB, metadata TEXT, updated INTEGER, content_blob BLOB,
              PRIMARY KEY (collection_id, id));
            ''')
            db.execute("insert into collections values (1, 'docs', 'sentence-transformers/all-MiniLM-L6-v2')")
            db.execute("insert into collections values (2, 'other', 'x')")
            rows = [("a", [0.5, -0.25, 1.0], "first text"), ("b", [0.125, 2.0, -3.0], "second text"), ("c", [1.0, 1.0, 1.0], None)]
            for i, v, t in rows:
                db.execute("insert into embeddings (collection_id, id, embedding, content) values (1, ?, ?, ?)",
                           (i, struct.pack("<" + "f" * len(v), *v), t))
            db.execute("insert into embeddings (collection_id, id, embedding, content) values (2, 'z', ?, 'not this')",
                       (struct.pack("<3f", 9, 9, 9),))
            db.commit()
            """, [database])
        #expect(made.status == 0, "\(made.stderrText)")
        let result = try Embcache.run(
            ["import", "--from-llm", database, "--collection", "docs", "--cache-dir", cache.path])
        #expect(result.status == 65)
        #expect(
            result.stderrText.contains("collection docs, id c: missing field \"content\": skipped")
        )
        #expect(
            result.stderrText.contains(
                "imported 2 vectors of sentence-transformers/all-MiniLM-L6-v2, 0 already cached, 1 skipped"))
        let exported = try Embcache.run(
            ["export", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--cache-dir", cache.path, "--with-text"])
        #expect(
            exported.stdoutText == """
                {"text":"first text","embedding":[0.5,-0.25,1.0]}
                {"text":"second text","embedding":[0.125,2.0,-3.0]}

                """)
        let unknown = try Embcache.run([
            "import", "--from-llm", database, "--collection", "nope", "--cache-dir", cache.path,
        ])
        #expect(unknown.status == 78)
    }

    @Test func exportToNpyAndF32MatchesTheJSONLOrder() throws {
        let cache = try filledCache(30)
        let jsonl = try Embcache.run(["export", "--model", "hash-8", "--cache-dir", cache.path])
        let file = cache.file("all.npy")
        let npy = try Embcache.run([
            "export", "--model", "hash-8", "--cache-dir", cache.path, "--format", "npy", "-o", file.path,
        ])
        #expect(npy.status == 0)
        let loaded = try python(
            "import numpy, json, sys; print(json.dumps(numpy.load(sys.argv[1]).tolist()))", [file.path])
        let rows = try JSONSerialization.jsonObject(with: loaded.stdout) as! [[NSNumber]]
        #expect(rows.map { $0.map(\.floatValue) } == vectors(jsonl.stdout).map { $0.map(Float.init) })
    }

    struct Corruption: CustomTestStringConvertible, Sendable {
        var name: String
        var sql: String
        var message: String
        var testDescription: String { name }
    }

    static let corruptions: [Corruption] = [
        Corruption(
            name: "truncated blob", sql: "update embedding set embedding = substr(embedding, 1, 12) where rowid = 3",
            message: "embedding-hash-8.sqlite: row 3 (hash "),
        Corruption(
            name: "NaN", sql: "update embedding set embedding = x'0000c07f' || substr(embedding, 5) where rowid = 4",
            message: "non-finite value"),
        Corruption(
            name: "wrong dimension", sql: "update embedding set embedding = embedding || x'0000803f' where rowid = 5",
            message: "vector of 36 bytes, expected 32"),
        Corruption(
            name: "short hash", sql: "update embedding set hashid = x'00ff' where rowid = 6",
            message: "embedding-hash-8.sqlite: row 6: hash of 2 bytes, not 64"),
        Corruption(
            name: "wrong hash",
            sql: "attach 'HASHSTRING' as hs; update hs.hashstring set hashid = zeroblob(64) where rowid = 7",
            message: "hashstring.sqlite: row 7: hash is not the SHA-512 of its text"),
        Corruption(
            name: "foreign model metadata",
            sql: "update embcache_metadata set value = 'another-model' where key = 'model'",
            message:
                "embedding-hash-8.sqlite: metadata names model \"another-model\", whose file is embedding-another-model.sqlite"
        ),
    ]

    @Test(arguments: corruptions)
    func verifyFindsPlantedCorruptionAndRepairLeavesACacheThatPasses(_ corruption: Corruption) throws {
        let cache = try filledCache(20)
        let clean = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(clean.status == 0)
        #expect(clean.stdout.isEmpty)
        let planted = try python(
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(sys.argv[2]); db.commit()",
            [
                cache.path + "/embedding-hash-8.sqlite",
                corruption.sql.replacingOccurrences(of: "HASHSTRING", with: cache.path + "/hashstring.sqlite"),
            ])
        #expect(planted.status == 0, "\(planted.stderrText)")
        let found = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(found.status == 65)
        #expect(found.stdoutText.contains(corruption.message), "\(found.stdoutText)")
        let repaired = try Embcache.run(["verify", "--cache-dir", cache.path, "--model", "hash-8", "--repair"])
        #expect(repaired.status == 0, "\(repaired.stdoutText) \(repaired.stderrText)")
        #expect(repaired.stderrText.contains("repaired 1 of 1 problem"))
        let after = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(after.status == 0)
        // What was deleted is computed again, and every vector is right.
        let rerun = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path, "-v"], stdin: corpus(20))
        let fresh = TemporaryDirectory()
        let reference = try Embcache.run(["--model", "hash-8", "--cache-dir", fresh.path], stdin: corpus(20))
        #expect(rerun.stdout == reference.stdout)
    }

    @Test func gcDeletesOnlyTextsNoModelUses() throws {
        let cache = try filledCache(10)
        _ = try Embcache.run(["--model", "hash-4", "--cache-dir", cache.path], stdin: corpus(15, prefix: "four"))
        let removed = try Embcache.run(["rm", "--model", "hash-4", "--cache-dir", cache.path, "--yes"])
        #expect(removed.status == 0)
        #expect(removed.stderrText == "embcache: removed 15 vectors of hash-4\n")
        let gc = try Embcache.run(["gc", "--cache-dir", cache.path])
        #expect(gc.status == 0)
        #expect(gc.stderrText.hasPrefix("embcache: deleted 15 texts no model uses"))
        let stats =
            try JSONSerialization.jsonObject(
                with: try Embcache.run(["stats", "--cache-dir", cache.path, "--json"]).stdout) as! [String: Any]
        #expect(stats["texts"] as? Int == 10)
        // Every remaining vector still has its text.
        let export = try Embcache.run(["export", "--model", "hash-8", "--cache-dir", cache.path, "--with-text"])
        #expect(export.stdoutLines.count == 10)
        #expect(export.stderr.isEmpty)
    }

    /// Regression: `gc` racing a run that was creating a model file failed
    /// with "no such table: embedding" (and so did `stats` and `verify`).
    /// A file caught being created, empty or not yet given its tables,
    /// holds no vector: it is skipped.
    @Test(arguments: ["empty", "without tables"])
    func gcSkipsAModelFileThatIsBeingCreated(state: String) throws {
        let cache = try filledCache(10)
        _ = try Embcache.run(["--model", "hash-4", "--cache-dir", cache.path], stdin: corpus(5, prefix: "four"))
        _ = try Embcache.run(["rm", "--model", "hash-4", "--cache-dir", cache.path, "--yes"])
        let creating = cache.file("embedding-new-model.sqlite")
        if state == "empty" {
            #expect(FileManager.default.createFile(atPath: creating.path, contents: nil))
        } else {
            // What SQLiteStore.init has done before its one transaction of
            // CREATE TABLEs: the file exists, in WAL mode.
            let made = try python(
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); c.close()",
                [creating.path])
            try #require(made.status == 0, "\(made.stderrText)")
        }
        let gc = try Embcache.run(["gc", "--cache-dir", cache.path])
        #expect(gc.status == 0, "\(gc.stderrText)")
        #expect(gc.stderrText.hasPrefix("embcache: deleted 5 texts no model uses"), "\(gc.stderrText)")
        #expect(FileManager.default.fileExists(atPath: creating.path))
        let stats = try Embcache.run(["stats", "--cache-dir", cache.path])
        #expect(stats.status == 0, "\(stats.stderrText)")
        for repair in [[], ["--repair"]] {
            let verify = try Embcache.run(["verify", "--cache-dir", cache.path] + repair)
            #expect(verify.status == 0, "\(verify.stderrText)")
        }
        let export = try Embcache.run(["export", "--model", "hash-8", "--cache-dir", cache.path, "--with-text"])
        #expect(export.stdoutLines.count == 10)
    }

    @Test func rmAsksFirstAndRefusesWithoutATerminal() throws {
        let cache = try filledCache(3)
        let refused = try Embcache.run(["rm", "--model", "hash-8", "--cache-dir", cache.path], stdin: "y\n")
        #expect(refused.status == 64)
        #expect(FileManager.default.fileExists(atPath: cache.path + "/embedding-hash-8.sqlite"))
    }

    @Test func backupWhileAnotherProcessWritesIsConsistent() throws {
        let cache = try filledCache(100)
        let writer = try RunningProcess(
            Embcache.binary, ["--model", "hash-8", "--cache-dir", cache.path, "--window", "200"])
        writer.feed(Data(corpus(10_000, prefix: "concurrent").utf8))
        var backups: [TemporaryDirectory] = []
        for _ in 0..<3 {
            let destination = TemporaryDirectory()
            let backup = try Embcache.run(["backup", destination.path + "/copy", "--cache-dir", cache.path])
            #expect(backup.status == 0, "\(backup.stderrText)")
            backups.append(destination)
            writer.pump(seconds: 0.05)
        }
        let written = writer.finish()
        #expect(written.status == 0)
        for destination in backups {
            let copy = destination.path + "/copy"
            let verify = try Embcache.run(["verify", "--cache-dir", copy])
            #expect(verify.status == 0, "\(verify.stdoutText)")
            #expect(!verify.stderrText.contains("no text"), "\(verify.stderrText)")
            let get = try Embcache.run(["get", "--model", "hash-8", "--cache-dir", copy], stdin: corpus(100))
            #expect(get.status == 0)
        }
        let full = TemporaryDirectory()
        #expect(try Embcache.run(["backup", full.path + "/copy", "--cache-dir", cache.path]).status == 0)
        let stats =
            try JSONSerialization.jsonObject(
                with: try Embcache.run(["stats", "--cache-dir", full.path + "/copy", "--json"]).stdout)
            as! [String: Any]
        #expect((stats["models"] as! [[String: Any]])[0]["vectors"] as? Int == 10_100)
        let again = try Embcache.run(["backup", full.path + "/copy", "--cache-dir", cache.path])
        #expect(again.status == 78)
    }
}

/// Regressions found while documenting the subcommands.
@Suite struct MaintenanceRegressionTests {
    @Test func exportRefusesAFileThatHoldsACollidingModel() throws {
        let cache = TemporaryDirectory()
        _ = try Embcache.run(
            ["--model", "My Model", "--command", fakeProvider(), "--cache-dir", cache.path], stdin: corpus(2))
        let result = try Embcache.run(["export", "--model", "my-model", "--cache-dir", cache.path])
        #expect(result.status == 78)
        #expect(result.stdout.isEmpty)
    }

    @Test func verifyTrustsTheRowsOverAMetadataDimensionTheyDisagreeWith() throws {
        let cache = TemporaryDirectory()
        _ = try Embcache.run(
            ["--model", "m", "--command", fakeProvider(), "--cache-dir", cache.path], stdin: corpus(11))
        _ = try python(
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(\"update embcache_metadata set value = '16' where key = 'dimension'\"); db.commit()",
            [cache.path + "/embedding-m.sqlite"])
        let found = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(found.status == 65)
        #expect(found.stdoutText == "embedding-m.sqlite: metadata says dimension 16, most vectors have 8\n")
        let repaired = try Embcache.run(["verify", "--cache-dir", cache.path, "--repair"])
        #expect(repaired.status == 0, "\(repaired.stdoutText)")
        let stats = try Embcache.run(["models", "--cache-dir", cache.path])
        #expect(stats.stdoutText == "m\t8\t11\n")
    }

    @Test func repairingAWrongTextHashKeepsTheTextUnderItsTrueHash() throws {
        let cache = TemporaryDirectory()
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: corpus(5))
        _ = try python(
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('update hashstring set hashid = zeroblob(64) where rowid = 2'); db.commit()",
            [cache.path + "/hashstring.sqlite"])
        let repaired = try Embcache.run(["verify", "--cache-dir", cache.path, "--repair"])
        #expect(repaired.status == 0)
        let export = try Embcache.run(["export", "--model", "hash-8", "--cache-dir", cache.path, "--with-text"])
        #expect(export.status == 0)
        #expect(export.stdoutLines.count == 5)
    }

    @Test func importKeepsTheFirstVectorOfATextAndChecksHashModels() throws {
        let cache = TemporaryDirectory()
        let input = "{\"text\":\"a\",\"embedding\":[1,2]}\n{\"text\":\"a\",\"embedding\":[3,4]}\n"
        let result = try Embcache.run(["import", "--model", "m", "--cache-dir", cache.path], stdin: input)
        #expect(result.stderrText == "embcache: imported 1 vector of m, 1 already cached, 0 skipped\n")
        let export = try Embcache.run(["export", "--model", "m", "--cache-dir", cache.path, "--with-text"])
        #expect(export.stdoutText == "{\"text\":\"a\",\"embedding\":[1.0,2.0]}\n")
        // hash-<d> files hold the built-in's vectors only: an import must
        // bring exactly those.
        let hash = try Embcache.run(["import", "--model", "hash-2", "--cache-dir", cache.path], stdin: input)
        #expect(hash.status == 65)
        #expect(hash.stderrText.contains("stdin:1: unusable vector: not the hash-2 vector of its text: skipped"))
    }

    @Test func aMisspeltLLMCollectionIsAnErrorEvenWithAModel() throws {
        let cache = TemporaryDirectory()
        let database = cache.file("e.db").path
        _ = try python(
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('create table collections (id integer primary key, name text, model text)'); db.execute('create table embeddings (collection_id integer, id text, embedding blob, content text)'); db.commit()",
            [database])
        let result = try Embcache.run(
            ["import", "--from-llm", database, "--collection", "typo", "--model", "m", "--cache-dir", cache.path])
        #expect(result.status == 78)
        #expect(result.stderrText.contains("no collection named \"typo\""))
    }

    @Test func exportThatSkipsRowsSaysSoWithStatus65() throws {
        let cache = TemporaryDirectory()
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: corpus(4))
        let corrupt = try python(
            #"import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("update embedding set embedding = x'00' where rowid = 1"); db.commit()"#,
            [cache.path + "/embedding-hash-8.sqlite"])
        #expect(corrupt.status == 0, "\(corrupt.stderrText)")
        let result = try Embcache.run(["export", "--model", "hash-8", "--cache-dir", cache.path])
        #expect(result.status == 65)
        #expect(result.stdoutLines.count == 3)
    }

    @Test func aSubcommandEndsOnTheFirstSigint() throws {
        // Only the filter polls the interrupt flag; a command waiting at a
        // prompt must not need a second Ctrl-C.
        let cache = TemporaryDirectory()
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: corpus(2))
        let running = try RunningProcess(Embcache.binary, ["import", "--model", "m", "--cache-dir", cache.path])
        running.pump(seconds: 0.3)
        running.signal(SIGINT)
        let result = running.finish()
        #expect(result.status == 128 + SIGINT)
    }
}
