import Foundation
import Testing

/// The cache is shared with the Python `embeddingcache` package: we read
/// what it wrote, and it reads what we write.
@Suite struct CompatibilityTests {
    static let seed = Embcache.fixtures.appendingPathComponent("seed-cache")

    /// A writable copy of the seed cache (the fixture itself is read-only).
    func seedCopy() throws -> TemporaryDirectory {
        let copy = TemporaryDirectory()
        for name in ["hashstring.sqlite", "embedding-all-minilm-l6-v2.sqlite"] {
            try FileManager.default.copyItem(at: Self.seed.appendingPathComponent(name), to: copy.file(name))
        }
        return copy
    }

    @Test func seedCacheAnswersEveryRecordWithItsExactVector() throws {
        let cache = try seedCopy()
        let input = try Data(contentsOf: Self.seed.appendingPathComponent("texts.jsonl"))
        let result = try Embcache.run(
            ["--model", "all-MiniLM-L6-v2", "--offline", "--no-normalize", "--cache-dir", cache.path, "-v"],
            stdin: input)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stderrText.contains("30 hits"))
        let expected = parseJSONLines(try Data(contentsOf: Self.seed.appendingPathComponent("expected.jsonl")))
        let got = vectors(result.stdout)
        #expect(got.count == expected.count)
        for (row, record) in zip(got, expected) {
            let want = (record["embedding"] as! [NSNumber]).map { Float($0.doubleValue) }
            #expect(row.map { Float($0) } == want, "\(record["id"]!)")
        }
    }

    @Test func seedKeysAreTheSHA512OfTheUTF8Bytes() throws {
        let cache = try seedCopy()
        let expected = parseJSONLines(try Data(contentsOf: Self.seed.appendingPathComponent("expected.jsonl")))
        // Export through Python's sqlite3: each expected hash is a hashid there.
        let result = try python(
            """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            print("\\n".join(sorted(r[0].hex() for r in c.execute("select hashid from hashstring"))))
            """, [cache.path + "/hashstring.sqlite"])
        let stored = Set(result.stdoutText.split(separator: "\n").map(String.init))
        for record in expected { #expect(stored.contains(record["sha512"] as! String)) }
    }

    @Test func seedVectorsNormalizedStayWithinRounding() throws {
        let cache = try seedCopy()
        let input = try Data(contentsOf: Self.seed.appendingPathComponent("texts.jsonl"))
        let result = try Embcache.run(
            ["--model", "all-MiniLM-L6-v2", "--offline", "--cache-dir", cache.path], stdin: input)
        let expected = parseJSONLines(try Data(contentsOf: Self.seed.appendingPathComponent("expected.jsonl")))
        for (row, record) in zip(vectors(result.stdout), expected) {
            let want = (record["embedding"] as! [NSNumber]).map(\.doubleValue)
            for (a, b) in zip(row, want) { #expect(abs(a - b) < 1e-6) }
        }
    }

    @Test func offlineRunLeavesTheCacheFilesUntouched() throws {
        // CI runs as root, for whom no file is read-only: the guarantee that
        // a lookup-only run can read a shared or read-only cache is that it
        // opens the files read-only and writes nothing at all.
        let cache = try seedCopy()
        let names = ["hashstring.sqlite", "embedding-all-minilm-l6-v2.sqlite"]
        let before = try names.map { try Data(contentsOf: cache.file($0)) }
        let input = try Data(contentsOf: Self.seed.appendingPathComponent("texts.jsonl"))
        let result = try Embcache.run(
            ["--model", "all-MiniLM-L6-v2", "--offline", "--cache-dir", cache.path], stdin: input)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutLines.count == 30)
        #expect(try names.map { try Data(contentsOf: cache.file($0)) } == before)
        let listing = try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted()
        #expect(listing == names.sorted())
    }

    @Test func offlineRunOfAnUnknownModelCreatesNothing() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "never-seen", "--offline", "--cache-dir", cache.path + "/sub", "--on-error", "null", "-q"],
            stdin: "{\"text\":\"a\"}\n")
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText == "{\"text\":\"a\",\"embedding\":null}\n")
        #expect(!FileManager.default.fileExists(atPath: cache.path + "/sub"))
    }

    @Test func pythonReadsWhatWeWriteWithTheSeedsOwnQuery() throws {
        let cache = TemporaryDirectory()
        let input = "{\"text\":\"hello world\"}\n{\"text\":\"Straße und Größe\"}\n"
        let result = try Embcache.run(
            ["--model", "hash-16", "--cache-dir", cache.path, "--no-normalize"], stdin: input)
        #expect(result.status == 0)
        // What embeddingcache 0.1.0 does: hash the text, look the hash up in
        // the slugged model file, read the blob with numpy as float32.
        let script = """
            import hashlib, json, sqlite3, sys
            import numpy as np
            from pathlib import Path
            directory = Path(sys.argv[1])
            hs = sqlite3.connect(directory / "hashstring.sqlite")
            emb = sqlite3.connect(directory / "embedding-hash-16.sqlite")
            for text in ["hello world", "Straße und Größe"]:
                hashid = hashlib.sha512(text.encode("utf-8")).digest()
                (stored_text,) = hs.execute("SELECT text FROM hashstring WHERE hashid = ?", (hashid,)).fetchone()
                assert stored_text == text, (stored_text, text)
                (blob,) = emb.execute("SELECT embedding FROM embedding WHERE hashid = ?", (hashid,)).fetchone()
                print(json.dumps(np.frombuffer(blob, dtype=np.float32).tolist()))
            """
        let read = try python(script, [cache.path])
        #expect(read.status == 0, "\(read.stderrText)")
        let fromPython = vectors(
            Data(read.stdoutText.split(separator: "\n").map { "{\"embedding\":\($0)}" }.joined(separator: "\n").utf8))
        #expect(fromPython.map { $0.map(Float.init) } == vectors(result.stdout).map { $0.map(Float.init) })
    }

    @Test func tablesKeepThePythonPackagesSchema() throws {
        let cache = TemporaryDirectory()
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n")
        let ours = try python(
            """
            import sqlite3, sys
            for name, table in [("hashstring.sqlite", "hashstring"), ("embedding-hash-8.sqlite", "embedding")]:
                c = sqlite3.connect(sys.argv[1] + "/" + name)
                print(c.execute("select sql from sqlite_master where name = ?", (table,)).fetchone()[0])
            """, [cache.path])
        let seed = try python(
            """
            import sqlite3, sys
            for name, table in [("hashstring.sqlite", "hashstring"), ("embedding-all-minilm-l6-v2.sqlite", "embedding")]:
                c = sqlite3.connect("file:" + sys.argv[1] + "/" + name + "?mode=ro", uri=True)
                print(c.execute("select sql from sqlite_master where name = ?", (table,)).fetchone()[0])
            """, [Self.seed.path])
        #expect(ours.status == 0 && seed.status == 0, "\(ours.stderrText) \(seed.stderrText)")
        #expect(ours.stdoutText.replacingOccurrences(of: " IF NOT EXISTS", with: "") == seed.stdoutText)
    }
}
