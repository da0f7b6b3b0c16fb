import Foundation
import Testing

/// The cache never loses work and never mixes models: interrupts,
/// concurrent writers, private files, hostile model names.
@Suite struct CacheSafetyTests {
    /// SIGINT with the vectors going to stdout, SIGHUP with `-o FILE`.
    /// Regression for SIGHUP (a closed terminal, a dropped ssh session): it
    /// took the default action, the `-o` file's temporary was left behind
    /// and the vectors computed but not yet committed were lost.
    @Test(arguments: [(SIGINT, false), (SIGHUP, true)])
    func anInterruptCommitsWhatWasComputedAndTheRerunComputesOnlyTheRest(signal: Int32, toFile: Bool) throws {
        let cache = TemporaryDirectory()
        let count = cache.file("calls")
        let output = cache.file("out.jsonl")
        let input = Data(corpus(60).utf8)
        let arguments = [
            "--model", "fake", "--cache-dir", cache.path, "--window", "20", "--batch-size", "2", "--max-requests", "1",
        ]
        let running = try RunningProcess(
            Embcache.binary,
            arguments + (toFile ? ["-o", output.path] : [])
                + ["--command", fakeProvider("--delay 0.05 --count \(count.path)")])
        running.feed(input)
        // Let it finish the first window and get into the second.
        let deadline = Date().addingTimeInterval(20)
        while countLines(count) < 26 && Date() < deadline { running.pump(seconds: 0.02) }
        running.signal(signal)
        let (interrupted, hung) = running.finish(within: 30)
        #expect(!hung)
        #expect(interrupted.status == 130)
        #expect(interrupted.stderrText.hasSuffix("embcache: interrupted\n"), "\(interrupted.stderrText)")
        if toFile {
            let left = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter {
                $0.hasPrefix("out.jsonl")
            }
            #expect(left == [], "left behind: \(left)")
        }
        let computedBefore = countLines(count)
        #expect(computedBefore >= 26 && computedBefore < 60)

        let rerunCount = cache.file("rerun-calls")
        let rerun = try Embcache.run(
            arguments + ["--command", fakeProvider("--count \(rerunCount.path)")], stdin: input)
        #expect(rerun.status == 0)
        // Every batch answered before the signal, and the one in flight, was committed.
        #expect(countLines(rerunCount) == 60 - computedBefore)
        let reference = TemporaryDirectory()
        let clean = try Embcache.run(
            ["--model", "fake", "--cache-dir", reference.path, "--command", fakeProvider()], stdin: input)
        #expect(rerun.stdout == clean.stdout)
    }

    @Test func sigtermIsAnInterruptToo() throws {
        let cache = TemporaryDirectory()
        let running = try RunningProcess(
            Embcache.binary, ["--model", "fake", "--cache-dir", cache.path, "--command", fakeProvider("--delay 1")])
        running.feed(Data("{\"text\":\"slow\"}\n".utf8))
        running.pump(seconds: 0.5)
        running.signal(SIGTERM)
        let result = running.finish()
        #expect(result.status == 130)
    }

    /// Regression: a run waiting for another process's write lock on the
    /// cache did not hear SIGINT for as long as 80 s (SQLite's ten-second
    /// busy wait, eight times over); the wait now ends at once.
    @Test func sigintEndsAWaitForALockedCache() throws {
        let cache = TemporaryDirectory()
        let arguments = ["--model", "hash-8", "--cache-dir", cache.path]
        let first = try Embcache.run(arguments, stdin: corpus(2))
        try #require(first.status == 0, "\(first.stderrText)")
        // Another process holds the write lock until its stdin closes.
        let holder = try RunningProcess(
            pythonExecutable,
            [
                "-c",
                "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
                    + "db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()",
                cache.path + "/hashstring.sqlite",
            ])
        defer { _ = holder.finish() }
        let deadline = Date().addingTimeInterval(20)
        while !holder.stdoutSoFar.contains(UInt8(ascii: "\n")) && Date() < deadline { holder.pump(seconds: 0.02) }
        try #require(String(decoding: holder.stdoutSoFar, as: UTF8.self) == "locked\n")

        let running = try RunningProcess(Embcache.binary, arguments)
        running.feed(Data(corpus(4).utf8))
        running.pump(seconds: 1)
        running.expectSIGINTEndsTheWait(for: "the lock")
    }

    @Test func twoWritersOnOneCacheLoseNothingAndDuplicateNothing() throws {
        let cache = TemporaryDirectory()
        let shared = corpus(3000, prefix: "shared")
        let inputs = [shared + corpus(1000, prefix: "first"), corpus(1000, prefix: "second") + shared]
        let processes = try inputs.map { _ in
            try RunningProcess(Embcache.binary, ["--model", "hash-64", "--cache-dir", cache.path, "--window", "100"])
        }
        // Feed both before finishing either, so that they overlap.
        for (process, input) in zip(processes, inputs) { process.feed(Data(input.utf8)) }
        let results = processes.map { $0.finish() }
        for result in results {
            #expect(result.status == 0, "\(result.stderrText)")
            #expect(result.stdoutLines.count == 4000)
        }
        let counts = try python(
            """
            import sqlite3, sys
            e = sqlite3.connect(sys.argv[1] + "/embedding-hash-64.sqlite")
            h = sqlite3.connect(sys.argv[1] + "/hashstring.sqlite")
            print(e.execute("select count(*), count(distinct hashid) from embedding").fetchone())
            print(h.execute("select count(*), count(distinct hashid) from hashstring").fetchone())
            """, [cache.path])
        #expect(counts.stdoutText == "(5000, 5000)\n(5000, 5000)\n", "\(counts.stderrText)")
        let reference = TemporaryDirectory()
        let alone = try Embcache.run(["--model", "hash-64", "--cache-dir", reference.path], stdin: inputs[1])
        #expect(results[1].stdout == alone.stdout)
    }

    @Test func cacheFilesArePrivateToTheirOwner() throws {
        let parent = TemporaryDirectory()
        let cache = parent.path + "/new/cache"
        let result = try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: "{\"text\":\"secret\"}\n")
        #expect(result.status == 0)
        for path in [parent.path + "/new", cache] {
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o700)
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: cache) {
            let mode = try FileManager.default.attributesOfItem(atPath: cache + "/" + name)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
    }

    @Test func aFinishedRunLeavesEachFileWholeWithNoLogBeside() throws {
        // At the end of a run both files close side by side, each copying
        // its log into itself, while the output file is synced.
        let cache = TemporaryDirectory()
        let output = TemporaryDirectory()
        let input = (0..<3000).map { "{\"text\":\"closing \($0)\"}\n" }.joined()
        let result = try Embcache.run(
            [
                "--model", "hash-64", "--cache-dir", cache.path, "--window", "3000", "--format", "f32", "-o",
                output.path + "/vectors.f32",
            ], stdin: input)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted() == [
                "embedding-hash-64.sqlite", "hashstring.sqlite",
            ])
        #expect(
            try FileManager.default.attributesOfItem(atPath: output.path + "/vectors.f32")[.size] as? Int == 3000 * 64
                * 4)
        // Opened as immutable, SQLite reads the files alone, no log.
        let counts = try python(
            """
            import sqlite3, sys
            def count(name, table):
                c = sqlite3.connect("file:" + sys.argv[1] + "/" + name + "?immutable=1", uri=True)
                return c.execute("select count(*) from " + table).fetchone()[0]
            print(count("hashstring.sqlite", "hashstring"), count("embedding-hash-64.sqlite", "embedding"))
            """, [cache.path])
        #expect(counts.stdoutText == "3000 3000\n", "\(counts.stderrText)")
    }

    @Test func aModelNameCannotEscapeTheCacheDirectory() throws {
        let parent = TemporaryDirectory()
        let cache = parent.path + "/cache"
        for model in ["../../escape", "/etc/passwd", "a/../../b", "x'; DROP TABLE embedding; --"] {
            let result = try Embcache.run(
                ["--model", model, "--command", fakeProvider(), "--cache-dir", cache], stdin: "{\"text\":\"a\"}\n")
            #expect(result.status == 0, "\(result.stderrText)")
        }
        let inside = try FileManager.default.contentsOfDirectory(atPath: cache).sorted()
        #expect(
            inside == [
                "embedding-a-b.sqlite", "embedding-escape.sqlite", "embedding-etc-passwd.sqlite",
                "embedding-x-drop-table-embedding.sqlite", "hashstring.sqlite",
            ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["cache"])
    }

    @Test func twoModelsWhoseFileNamesCollideAreNeverMixed() throws {
        let cache = TemporaryDirectory()
        let first = try Embcache.run(
            ["--model", "My Model", "--command", fakeProvider(), "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n"
        )
        #expect(first.status == 0)
        let second = try Embcache.run(
            ["--model", "my-model", "--command", fakeProvider(), "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n"
        )
        #expect(second.status == 78)
        #expect(second.stderrText.contains("holds vectors of model \"My Model\", not \"my-model\""))
        #expect(second.stdout.isEmpty)
    }

    @Test func aDimensionThatDisagreesWithTheCacheIsRefused() throws {
        let cache = TemporaryDirectory()
        _ = try Embcache.run(
            ["--model", "m", "--command", fakeProvider("--dim 8"), "--cache-dir", cache.path],
            stdin: "{\"text\":\"a\"}\n")
        let other = try Embcache.run(
            ["--model", "m", "--command", fakeProvider("--dim 9"), "--cache-dir", cache.path],
            stdin: "{\"text\":\"b\"}\n")
        #expect(other.status == 69)
        #expect(
            other.stderrText
                == "embcache: provider command: batch of 1 text from stdin:1: vector 1 of the batch has 9 dimensions, expected 8\n"
        )
    }

    @Test func aFileThatIsNotSQLiteIsAnUnusableCache() throws {
        let cache = TemporaryDirectory()
        _ = cache.write("embedding-hash-8.sqlite", String(repeating: "not a database ", count: 100))
        let result = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n")
        #expect(result.status == 78)
        #expect(result.stderrText.contains("cannot be opened as a cache"))
        #expect(result.stdout.isEmpty)
    }

    @Test func aBadStoredVectorIsReportedRecomputedAndReplaced() throws {
        let cache = TemporaryDirectory()
        let clean = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n")
        let corrupt = try python(
            """
            import sqlite3, sys, struct
            e = sqlite3.connect(sys.argv[1] + "/embedding-hash-8.sqlite")
            rows = e.execute("select hashid from embedding").fetchall()
            e.execute("update embedding set embedding = ? where hashid = ?", (b"\\x00" * 12, rows[0][0]))
            e.execute("update embedding set embedding = ? where hashid = ?", (struct.pack("<8f", *([float("nan")] * 8)), rows[1][0]))
            e.commit()
            """, [cache.path])
        #expect(corrupt.status == 0, "\(corrupt.stderrText)")
        let repaired = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "-v"], stdin: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n")
        #expect(repaired.status == 0)
        #expect(repaired.stdout == clean.stdout)
        #expect(repaired.stderrText.contains("vector of 12 bytes, expected 32"))
        #expect(repaired.stderrText.contains("non-finite value"))
        #expect(repaired.stderrText.contains("2 computed"))
        let again = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "-v"], stdin: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n")
        #expect(again.stderrText.contains("2 hits"))
        #expect(!again.stderrText.contains("warning"))
    }
}
