import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Rough edges a newcomer met on the first day (issue 16, part 3), each
/// pinned by the binary's own behaviour.
@Suite struct FirstDayTests {
    // MARK: - Input

    @Test func plainTextAsJSONInputSuggestsInputLines() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path], stdin: "just some words\nand more\n")
        #expect(result.status == 65)
        #expect(result.stderrText.hasPrefix("embcache: stdin:1: invalid JSON"), "\(result.stderrText)")
        #expect(result.stderrText.contains("use --input lines for plain text"), "\(result.stderrText)")
        // Not on a later line: a broken record in JSON Lines is just that.
        let later = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path], stdin: "{\"text\":\"fine\"}\nbroken\n")
        #expect(later.status == 65)
        #expect(later.stderrText.hasPrefix("embcache: stdin:2: invalid JSON"), "\(later.stderrText)")
        #expect(!later.stderrText.contains("--input lines"), "\(later.stderrText)")
    }

    /// JSON's last key wins at every level of a dotted path, as in Python
    /// and jq.
    @Test func aDuplicateKeyOnADottedTextPathTakesTheLastValue() throws {
        let cache = TemporaryDirectory()
        func run(_ line: String, _ field: String) throws -> ProcessResult {
            try Embcache.run(
                ["--model", "hash-8", "--cache-dir", cache.path, "--text-field", field], stdin: line + "\n")
        }
        for (line, field) in [
            (#"{"a":{"b":"first"},"a":5}"#, "a.b"),
            (#"{"a":{"b":{"c":"first"},"b":1}}"#, "a.b.c"),
            (#"{"a":{"b":{"c":"first"}},"a":{"x":1}}"#, "a.b.c"),
        ] {
            let result = try run(line, field)
            #expect(result.status == 65, "\(line): \(result.stdoutText)")
            #expect(
                result.stderrText.hasPrefix("embcache: stdin:1: missing field \"\(field)\""),
                "\(line): \(result.stderrText)")
        }
        let last = try run(#"{"a":5,"a":{"b":"second"}}"#, "a.b")
        let plain = try run(#"{"a":{"b":"second"}}"#, "a.b")
        #expect(last.status == 0 && plain.status == 0, "\(last.stderrText)")
        #expect(vectors(last.stdout) == vectors(plain.stdout))
    }

    /// The page states both limits, and the binary keeps them.
    @Test func theManPageDocumentsTheNestingLimitAndTheBOMInMaxLineBytes() throws {
        let page = try String(contentsOfFile: ManPageTests.pagePath, encoding: .utf8)
            .replacingOccurrences(of: "\n", with: " ")
        #expect(page.contains("more than 512 levels deep"))
        #expect(page.contains("A byte order mark that starts the first line counts"))

        let cache = TemporaryDirectory()
        func nested(_ arrays: Int) -> String {
            "{\"text\":\"deep\",\"n\":" + String(repeating: "[", count: arrays) + String(repeating: "]", count: arrays)
                + "}\n"
        }
        let deepest = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: nested(511))
        #expect(deepest.status == 0, "\(deepest.stderrText)")
        let deeper = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: nested(512))
        #expect(deeper.status == 65)
        #expect(deeper.stderrText.contains("512"), "\(deeper.stderrText)")

        let line = Array(#"{"text":"bom"}"#.utf8)
        let input = Data([0xEF, 0xBB, 0xBF] + line + [0x0A])
        let fits = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--max-line-bytes", "\(line.count + 3)"], stdin: input)
        #expect(fits.status == 0, "\(fits.stderrText)")
        let over = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--max-line-bytes", "\(line.count + 2)"], stdin: input)
        #expect(over.status == 65)
        #expect(over.stderrText.contains("line longer than"), "\(over.stderrText)")
    }

    // MARK: - Binary output to a terminal

    /// Runs embcache with stdout on a pseudo-terminal; prints its status on
    /// stdout and passes its stderr through.
    static func onTerminal(_ arguments: [String], stdin: URL) throws -> ProcessResult {
        try python(
            """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            with open(sys.argv[1], "rb") as source:
                child = subprocess.Popen(sys.argv[2:], stdin=source, stdout=slave, stderr=subprocess.PIPE)
            os.close(slave)
            while True:
                try:
                    if not os.read(master, 65536):
                        break
                except OSError:
                    break
            error = child.stderr.read()
            child.wait()
            sys.stderr.write(error.decode("utf-8", "replace"))
            print(child.returncode)
            """, [stdin.path, Embcache.binary] + arguments)
    }

    @Test(arguments: ["npy", "f32"])
    func binaryOutputToATerminalIsRefused(format: String) throws {
        let work = TemporaryDirectory()
        let input = work.write("input.jsonl", corpus(3))
        let flags = ["--model", "hash-8", "--cache-dir", work.path + "/cache", "--format", format]
        let refused = try Self.onTerminal(flags, stdin: input)
        #expect(refused.stdoutText == "64\n", "\(refused.stderrText)")
        #expect(refused.stderrText.contains("terminal"), "\(refused.stderrText)")
        #expect(refused.stderrText.contains("-o"), "\(refused.stderrText)")
        let toFile = try Self.onTerminal(flags + ["-o", work.path + "/out.\(format)"], stdin: input)
        #expect(toFile.stdoutText == "0\n", "\(toFile.stderrText)")
        #expect(FileManager.default.fileExists(atPath: work.path + "/out.\(format)"))
        let toPipe = try Embcache.run(flags, stdin: try Data(contentsOf: input))
        #expect(toPipe.status == 0, "\(toPipe.stderrText)")
        #expect(toPipe.stdout.count >= 3 * 8 * 4)
    }

    // MARK: - import --from-llm

    /// An llm embeddings database (the schema llm writes), with the given
    /// collections: name, model, and rows of (id, vector, content or nil).
    static func llmDatabase(_ path: String, _ collections: [(String, String, [(String, [Float], String?)])]) throws {
        let script = """
            import sqlite3, struct, sys, json
            db = sqlite3.connect(sys.argv[1])
            db.executescript('''
            CREATE TABLE collections (id INTEGER PRIMARY KEY, name TEXT, model TEXT);
            CREATE UNIQUE INDEX idx_collections_name ON collections (name);
            CREATE TABLE embeddings (collection_id INTEGER REFERENCES collections(id), id TEXT, embedding BLOB,
              content TEXT, content_hash BLOB, metadata TEXT, updated INTEGER, PRIMARY KEY (collection_id, id));
            ''')
            for number, (name, model, rows) in enumerate(json.loads(sys.argv[2]), 1):
                db.execute("insert into collections values (?, ?, ?)", (number, name, model))
                for i, v, t in rows:
                    db.execute("insert into embeddings (collection_id, id, embedding, content) values (?, ?, ?, ?)",
                               (number, i, struct.pack("<" + "f" * len(v), *v), t))
            db.commit()

            """
        let json = collections.map { name, model, rows in
            [name, model, rows.map { [$0.0, $0.1.map(Double.init), $0.2.map { $0 as Any } ?? NSNull()] as [Any] }]
                as [Any]
        }
        let encoded = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        let made = try python(script, [path, encoded])
        try #require(made.status == 0, "\(made.stderrText)")
    }

    @Test func anLLMCollectionStoredWithoutTextIsOneClearMessage() throws {
        let work = TemporaryDirectory()
        let database = work.path + "/embeddings.db"
        let rows = (0..<1000).map { ("id\($0)", [Float(1), Float($0), 0], String?.none) }
        try Self.llmDatabase(database, [("docs", "some-model", rows)])
        let cache = work.path + "/cache"
        // One collection: no --collection needed.
        let result = try Embcache.run(["import", "--from-llm", database, "--cache-dir", cache])
        #expect(result.status == 65)
        let lines = result.stderrText.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderrText.prefix(500))")
        #expect(result.stderrText.contains("without --store"), "\(result.stderrText)")
        #expect(result.stderrText.contains("\"docs\""), "\(result.stderrText)")
        // Nothing was made in the cache for vectors that can't be imported.
        let files = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        #expect(!files.contains { $0.hasPrefix("embedding-") }, "\(files)")
    }

    @Test func anLLMCollectionIsOptionalWhenThereIsOneAndAnUnknownOneListsThoseThatExist() throws {
        let work = TemporaryDirectory()
        let single = work.path + "/single.db"
        try Self.llmDatabase(single, [("docs", "m", [("a", [0.5, -0.25, 1.0], "first text")])])
        let imported = try Embcache.run(["import", "--from-llm", single, "--cache-dir", work.path + "/cache"])
        #expect(imported.status == 0, "\(imported.stderrText)")
        #expect(imported.stderrText == "embcache: imported 1 vector of m, 0 already cached, 0 skipped\n")

        let two = work.path + "/two.db"
        try Self.llmDatabase(
            two, [("alpha", "m", [("a", [1, 2, 3], "x")]), ("beta", "m", [("b", [1, 2, 3], "y")])])
        let unknown = try Embcache.run([
            "import", "--from-llm", two, "--collection", "gamma", "--cache-dir", work.path + "/cache",
        ])
        #expect(unknown.status == 78)
        #expect(unknown.stderrText.contains("no collection named \"gamma\""), "\(unknown.stderrText)")
        #expect(unknown.stderrText.contains("\"alpha\", \"beta\""), "\(unknown.stderrText)")
        let ambiguous = try Embcache.run(["import", "--from-llm", two, "--cache-dir", work.path + "/cache"])
        #expect(ambiguous.status == 64)
        #expect(ambiguous.stderrText.contains("--collection"), "\(ambiguous.stderrText)")
        #expect(ambiguous.stderrText.contains("\"alpha\", \"beta\""), "\(ambiguous.stderrText)")
    }

    // MARK: - Messages

    @Test func summariesUseSingularForOneAndSayWhatIsUnique() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let input = "{\"text\":\"same\"}\n{\"text\":\"same\"}\n{\"text\":\"other\"}\n"
        let run = try Embcache.run(["--model", "hash-8", "--cache-dir", cache, "-v"], stdin: input)
        #expect(run.status == 0)
        #expect(
            run.stderrText.contains("3 records, 0 hits, 3 computed (2 unique texts), 1 batch,"), "\(run.stderrText)")
        let copy = try Embcache.run(["copy", "--from", cache, "--to", work.path + "/copy"])
        #expect(copy.stderrText == "embcache: copied 2 vectors of 1 model, 0 already there, 0 skipped\n")
    }

    @Test func statsShowsTheCacheAndSizesAPersonCanRead() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: corpus(5))
        let table = try Embcache.run(["stats", "--cache-dir", cache])
        #expect(table.status == 0)
        try #require(table.stdoutLines.count == 4, "\(table.stdoutText)")
        #expect(table.stdoutLines.first == "cache: \(cache)", "\(table.stdoutText)")
        #expect(table.stdoutLines[1].contains("size"))
        #expect(table.stdoutLines[2].contains(" KiB "), "\(table.stdoutText)")
        #expect(table.stdoutLines[3].contains(" KiB), 0 used by no model"), "\(table.stdoutText)")
        let exact = try Embcache.run(["stats", "--cache-dir", cache, "--bytes"])
        let size = CacheCheckSize.of(cache + "/embedding-hash-8.sqlite")
        try #require(exact.stdoutLines.count == 4, "\(exact.stdoutText)")
        #expect(exact.stdoutLines[2].contains("  \(size)  "), "\(exact.stdoutText)")
        #expect(exact.stdoutLines[3].contains(" bytes), 0 used by no model"), "\(exact.stdoutText)")
    }

    @Test func getOnACorruptRowSaysItIsCorruptAndNeverComputes() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let input = "{\"text\":\"damaged\"}\n"
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: input)
        let damaged = try python(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1] + "/embedding-hash-8.sqlite")
            rowid, blob = db.execute("SELECT rowid, embedding FROM embedding").fetchone()
            blob = bytearray(blob); blob[4] ^= 0x01
            db.execute("UPDATE embedding SET embedding = ? WHERE rowid = ?", (bytes(blob), rowid))
            db.commit()
            """, [cache])
        try #require(damaged.status == 0, "\(damaged.stderrText)")
        let get = try Embcache.run(["get", "--model", "hash-8", "--cache-dir", cache], stdin: input)
        #expect(get.status == 65)
        #expect(get.stderrText.contains("is corrupt"), "\(get.stderrText)")
        #expect(get.stderrText.contains("never compute"), "\(get.stderrText)")
        #expect(!get.stderrText.contains("computing it again"), "\(get.stderrText)")
    }

    // MARK: - restore DIR

    @Test func restoreTakesWhatBackupWroteIntoADirectory() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let first = try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: corpus(20))
        try #require(first.status == 0)
        let backup = work.path + "/backup"
        try #require(try Embcache.run(["backup", backup, "--cache-dir", cache]).status == 0)
        let backupFiles = try FileManager.default.contentsOfDirectory(atPath: backup).sorted()

        let restored = work.path + "/restored"
        let restore = try Embcache.run(["restore", backup, "--cache-dir", restored])
        #expect(restore.status == 0, "\(restore.stderrText)")
        #expect(restore.stderrText == "embcache: restored 2 files from \(backup) into \(restored)\n")
        let served = try Embcache.run(["get", "--model", "hash-8", "--cache-dir", restored], stdin: corpus(20))
        #expect(served.status == 0, "\(served.stderrText)")
        #expect(served.stdout == first.stdout)
        // The backup is only read.
        #expect(try FileManager.default.contentsOfDirectory(atPath: backup).sorted() == backupFiles)

        // A directory that holds a cache is replaced only with --force.
        let other = work.path + "/other"
        _ = try Embcache.run(["--model", "hash-4", "--cache-dir", other], stdin: corpus(3, prefix: "other"))
        let refused = try Embcache.run(["restore", backup, "--cache-dir", other])
        #expect(refused.status == 78)
        #expect(refused.stderrText.contains("--force"), "\(refused.stderrText)")
        let forced = try Embcache.run(["restore", backup, "--cache-dir", other, "--force"])
        #expect(forced.status == 0, "\(forced.stderrText)")
        let models = try Embcache.run(["models", "--cache-dir", other])
        #expect(models.stdoutText == "hash-8\t8\t20\n")

        // A directory that is no backup, or a damaged one, restores nothing.
        let empty = work.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try Embcache.run(["restore", empty, "--cache-dir", work.path + "/nothing"])
        #expect(none.status == 65)
        #expect(none.stderrText.contains("no backup here"), "\(none.stderrText)")
        let damaged = work.path + "/damaged"
        try FileManager.default.copyItem(atPath: backup, toPath: damaged)
        let file = damaged + "/embedding-hash-8.sqlite"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        for index in stride(from: 4096 + 100, to: bytes.count, by: 97) { bytes[index] ^= 0x5A }
        try bytes.write(to: URL(fileURLWithPath: file))
        let before = try Data(contentsOf: URL(fileURLWithPath: restored + "/embedding-hash-8.sqlite"))
        let bad = try Embcache.run(["restore", damaged, "--cache-dir", restored, "--force"])
        #expect(bad.status == 65, "\(bad.stderrText)")
        #expect(bad.stderrText.contains("embedding-hash-8.sqlite"), "\(bad.stderrText)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored + "/embedding-hash-8.sqlite")) == before)
    }

    // MARK: - A read-only cache

    /// Runs embcache as a user that cannot write the cache: as `nobody`
    /// when the tests run as root (for whom permissions do not stop
    /// writes), else as ourselves.
    static func asReader(_ arguments: [String], stdin: Data = Data()) throws -> ProcessResult {
        let environment = ["XDG_CONFIG_HOME": "/nonexistent", "HOME": "/nonexistent"]
        guard getuid() == 0 else { return try Embcache.run(arguments, stdin: stdin, environment: environment) }
        return try runProcess(
            "/usr/bin/env",
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", Embcache.binary] + arguments,
            stdin: stdin, environment: environment)
    }

    /// Read-only by permissions: the whole directory, or its files only.
    @Test(arguments: [true, false])
    func aReadOnlyCacheServesEveryReadingCommandAndLeavesNoFileBehind(directoryToo: Bool) throws {
        let work = TemporaryDirectory()
        chmod(work.path, 0o755)
        let cache = work.path + "/cache"
        let input = Data(corpus(10).utf8)
        let filled = try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: input)
        try #require(filled.status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: cache).sorted()
        for name in names { chmod(cache + "/" + name, 0o444) }
        chmod(cache, directoryToo ? 0o555 : 0o777)
        defer { chmod(cache, 0o755) }
        let out = work.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        chmod(out, 0o777)

        let runs: [(String, [String], Data)] = [
            ("get", ["get", "--model", "hash-8", "--cache-dir", cache], input),
            ("offline", ["--model", "hash-8", "--offline", "--cache-dir", cache], input),
            ("stats", ["stats", "--cache-dir", cache], Data()),
            ("models", ["models", "--cache-dir", cache], Data()),
            ("export", ["export", "--model", "hash-8", "--cache-dir", cache], Data()),
            ("verify", ["verify", "--cache-dir", cache], Data()),
            ("copy", ["copy", "--from", cache, "--to", out + "/copy"], Data()),
        ]
        for (name, arguments, stdin) in runs {
            let result = try Self.asReader(arguments, stdin: stdin)
            #expect(result.status == 0, "\(name): \(result.stderrText)")
            #expect(!result.stderrText.contains("readonly"), "\(name): \(result.stderrText)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: cache).sorted() == names, "\(name)")
        }
        let served = try Self.asReader(["get", "--model", "hash-8", "--cache-dir", cache], stdin: input)
        #expect(served.stdout == filled.stdout)
    }

    /// A backup directory is only read by stats and verify: no -wal or
    /// -shm is left in it.
    @Test func statsAndVerifyOfABackupLeaveNoFileInIt() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        _ = try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: corpus(10))
        let backup = work.path + "/backup"
        try #require(try Embcache.run(["backup", backup, "--cache-dir", cache]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: backup).sorted()
        for arguments in [["stats"], ["verify"], ["models"], ["export", "--model", "hash-8"]] {
            let result = try Embcache.run(arguments + ["--cache-dir", backup])
            #expect(result.status == 0, "\(arguments): \(result.stderrText)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: backup).sorted() == names, "\(arguments)")
        }
    }
}

enum CacheCheckSize {
    static func of(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -1
    }
}
