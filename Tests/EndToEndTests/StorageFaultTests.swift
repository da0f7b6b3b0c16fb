import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A cache that cannot be written or read as expected: each fault gives a
/// message of embcache's own, a documented status, no crash, no wrong row
/// on stdout, and never costs a vector that was committed.
@Suite struct StorageFaultTests {
    static let model = "fault-model"
    static let dim = 16

    /// A work directory with an input and a way to run embcache on a cache
    /// with the fake provider.
    final class Fixture {
        let work = TemporaryDirectory()
        let input: URL
        let inputData: Data

        init(records: Int = 300, textPadding: Int = 0) {
            let padding = String(repeating: "p", count: textPadding)
            let text = (0..<records).map { "{\"id\":\($0),\"text\":\"fault text \($0) \(padding)\"}\n" }.joined()
            input = work.write("input.jsonl", text)
            inputData = Data(text.utf8)
        }

        func arguments(_ cache: String, count: URL? = nil) -> [String] {
            let counting = count.map { " --count \($0.path)" } ?? ""
            return [
                "--model", StorageFaultTests.model, "--cache-dir", cache,
                "--command", fakeProvider("--dim \(StorageFaultTests.dim)" + counting),
            ]
        }

        @discardableResult
        func run(_ cache: String, _ extra: [String] = [], count: URL? = nil) throws -> ProcessResult {
            try Embcache.run(arguments(cache, count: count) + extra, stdin: inputData)
        }

        /// A cache holding the vectors of every input record.
        func populated(_ name: String = "cache") throws -> String {
            let cache = work.path + "/" + name
            let result = try run(cache)
            try #require(result.status == 0, "\(result.stderrText)")
            return cache
        }

        /// Checks the rows of an output: each one its record's vector.
        func rows(_ output: Data, _ flags: [String] = []) throws -> CacheCheck.RowsReport {
            if output.isEmpty && flags.contains("--prefix") {
                return CacheCheck.RowsReport(problems: [], rows: 0, nulls: 0)
            }
            let file = work.file("output-\(UUID().uuidString).jsonl")
            try output.write(to: file)
            return try CacheCheck.rows(input: input, output: file, dim: StorageFaultTests.dim, flags)
        }

        /// After a fault: a run on `cache` with room to write computes
        /// exactly the texts without a vector, and every row is right.
        func expectRecovery(_ cache: String, _ context: String) throws {
            let before = try CacheCheck.cache(
                cache, model: StorageFaultTests.model, dim: StorageFaultTests.dim, input: input)
            #expect(before.problems.isEmpty, "\(context): \(before.problems)")
            let count = work.file("recovery-count-\(UUID().uuidString)")
            let rerun = try run(cache, count: count)
            #expect(rerun.status == 0, "\(context): \(rerun.stderrText)")
            let rows = try self.rows(rerun.stdout)
            #expect(rows.problems.isEmpty, "\(context): \(rows.problems)")
            #expect(Set(countedKeys(count)) == Set(before.missing ?? []), "\(context): re-run computed the wrong texts")
            #expect(countLines(count) == (before.missing ?? []).count, "\(context): re-run computed a text twice")
        }
    }

    /// Every line of stderr is embcache's own.
    func expectOwnMessages(_ result: ProcessResult, _ context: String) {
        #expect(!result.stderr.isEmpty, "\(context): no message")
        for line in result.stderrText.split(separator: "\n") {
            #expect(line.hasPrefix("embcache: "), "\(context): \(line)")
        }
    }

    /// Runs `setup` (mounts, as root) in a private mount namespace, then
    /// embcache once per argument list, then `teardown`; embcache's output
    /// goes to files and is read back here. `$MNT` is an empty directory.
    func runMounted(_ fixture: Fixture, setup: String, runs: [[String]], teardown: String = "") throws
        -> [ProcessResult]
    {
        let mountPoint = fixture.work.path + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        var script = "set -e\n" + setup + "\nset +e\n"
        for (index, arguments) in runs.enumerated() {
            let out = fixture.work.path + "/out-\(index)"
            let err = fixture.work.path + "/err-\(index)"
            script += ([Embcache.binary] + arguments).map(shellQuoted).joined(separator: " ")
            script += " < \(shellQuoted(fixture.input.path)) > \(shellQuoted(out)) 2> \(shellQuoted(err))\n"
            script += "echo $?\n"
        }
        script += teardown
        let shell = try inPrivateMountNamespace(script, environment: ["MNT": mountPoint])
        try #require(shell.status == 0 && shell.stderr.isEmpty, "\(shell.stderrText)")
        let statuses = shell.stdoutText.split(separator: "\n").map { Int32($0) ?? -1 }
        return try runs.indices.map { index in
            ProcessResult(
                status: statuses[index], stdout: try Data(contentsOf: fixture.work.file("out-\(index)")),
                stderr: try Data(contentsOf: fixture.work.file("err-\(index)")))
        }
    }

    /// A file's bytes and modification time, to tell that it was not touched.
    func snapshot(_ directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let path = directory + "/" + name
            let modified = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
            result[name] = try Data(contentsOf: URL(fileURLWithPath: path)) + Data("\(modified!)".utf8)
        }
        return result
    }

    // MARK: - A full disk

    @Test(.enabled(if: Mounts.available, "needs root to mount a tmpfs in a private mount namespace"))
    func aFullFileSystemStopsWithStatus74AndKeepsEveryCommittedVector() throws {
        let fixture = Fixture(records: 2000, textPadding: 150)
        let saved = fixture.work.path + "/saved"
        let run = try runMounted(
            fixture, setup: #"mount -t tmpfs -o size=1m tmpfs "$MNT""#,
            runs: [fixture.arguments(fixture.work.path + "/mnt/cache") + ["--window", "25"]],
            teardown: "cp -a \"$MNT/cache\" \(shellQuoted(saved))\n")[0]
        #expect(run.status == 74, "\(run.stderrText)")
        expectOwnMessages(run, "full disk")
        #expect(run.stderrText.contains("full"), "\(run.stderrText)")
        let rows = try fixture.rows(run.stdout, ["--prefix"])
        #expect(rows.problems.isEmpty, "\(rows.problems)")
        #expect(rows.rows >= 25 && rows.rows < 2000, "the disk should fill after a window or more: \(rows.rows) rows")
        let report = try CacheCheck.cache(saved, model: Self.model, dim: Self.dim)
        #expect(report.vectors >= rows.rows, "rows were written whose vectors were not committed")
        try fixture.expectRecovery(saved, "after a full disk")
    }

    /// The texts file grew past a file size limit while the model file
    /// did not: the two commits of a window are not atomic together, and the
    /// vectors were committed first, leaving vectors whose text was lost.
    @Test func vectorsWereCommittedWithoutTheirTextsWhenTheTextsFileCouldNotGrow() throws {
        // Long texts and short vectors: hashstring.sqlite reaches the limit first.
        let fixture = Fixture(records: 1500, textPadding: 400)
        let cache = fixture.work.path + "/cache"
        let limited = try runProcess(
            pythonExecutable,
            [
                "-c",
                """
                import os, resource, sys
                resource.setrlimit(resource.RLIMIT_FSIZE, (300000, 300000))
                os.execv(sys.argv[1], sys.argv[1:])
                """,
                Embcache.binary, "--window", "50",
            ] + fixture.arguments(cache), stdin: fixture.inputData)
        #expect(limited.status == 74, "\(limited.stderrText)")
        expectOwnMessages(limited, "file size limit")
        let rows = try fixture.rows(limited.stdout, ["--prefix"])
        #expect(rows.problems.isEmpty, "\(rows.problems)")
        #expect(rows.rows >= 50, "the limit should be reached after a window or more: \(rows.rows) rows")
        let report = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim)
        #expect(report.problems.isEmpty, "\(report.problems)")
        try fixture.expectRecovery(cache, "after the file size limit")
    }

    /// Under `ulimit -f`, SIGXFSZ ended embcache at its first write past the
    /// limit: status 153, no message, and the rows committed so far were
    /// never written out.
    @Test func aFileSizeLimitKilledTheRunWithoutAMessage() throws {
        let fixture = Fixture(records: 1500, textPadding: 400)
        let cache = fixture.work.path + "/cache"
        let command = ([Embcache.binary, "--window", "50"] + fixture.arguments(cache)).map(shellQuoted)
            .joined(separator: " ")
        // bash's ulimit -f counts KiB and leaves SIGXFSZ at its default.
        let limited = try runProcess("/bin/bash", ["-c", "ulimit -f 300; exec \(command)"], stdin: fixture.inputData)
        #expect(limited.status == 74, "\(limited.stderrText)")
        expectOwnMessages(limited, "ulimit -f")
        let rows = try fixture.rows(limited.stdout, ["--prefix"])
        #expect(rows.problems.isEmpty, "\(rows.problems)")
        #expect(rows.rows >= 50)
        try fixture.expectRecovery(cache, "after ulimit -f")
    }

    // MARK: - A read-only cache

    @Test(.enabled(if: Mounts.available, "needs root for a read-only bind mount: chmod does not stop root"))
    func aReadOnlyCacheDirectoryIsRefusedAndLeftUntouched() throws {
        let fixture = Fixture()
        let cache = try fixture.populated()
        let before = try snapshot(cache)
        // New texts, so that a writing run has something to write.
        let others = fixture.work.write("others.jsonl", corpus(20, prefix: "other"))
        let runs = try runMounted(
            fixture,
            setup: "mount --bind \(shellQuoted(cache)) \(shellQuoted(cache))\n"
                + "mount -o remount,bind,ro \(shellQuoted(cache))\n"
                + "! touch \(shellQuoted(cache + "/probe")) 2>/dev/null",
            runs: [
                fixture.arguments(cache) + [others.path],
                fixture.arguments(cache) + ["--offline", "--on-error", "null"],
                ["--model", "hash-8", "--cache-dir", cache],
            ])
        #expect(try snapshot(cache) == before, "a read-only cache was changed")
        let (writing, offline, newModel) = (runs[0], runs[1], runs[2])
        for (run, context) in [(writing, "writing"), (newModel, "new model")] {
            #expect(run.status == 78, "\(context): \(run.stderrText)")
            #expect(run.stdout.isEmpty, "\(context)")
            expectOwnMessages(run, context)
            #expect(run.stderrText.contains(cache), "\(context): \(run.stderrText)")
        }
        // Lookups alone are served, every row right: a read-only shared
        // cache is a cache.
        #expect(offline.status == 0, "\(offline.stderrText)")
        let rows = try fixture.rows(offline.stdout)
        #expect(rows.problems.isEmpty && rows.nulls == 0, "\(rows.problems)")
    }

    // MARK: - Files that are not what they should be

    struct Damage: CustomTestStringConvertible, Sendable {
        var name: String
        var file: String
        /// Bytes replacing the file, from its current bytes.
        var damage: @Sendable (Data) -> Data
        var testDescription: String { name }
    }

    static let texts = "hashstring.sqlite"
    static let vectors = "embedding-fault-model.sqlite"

    static func garbage(_ count: Int, seed: UInt64) -> Data {
        var random = SeededRandom(seed: seed)
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    static let damages: [Damage] =
        [texts, vectors].flatMap { file in
            [
                Damage(name: "\(file) is text", file: file) { _ in
                    Data(String(repeating: "not a database\n", count: 500).utf8)
                },
                Damage(name: "\(file) is random bytes", file: file) { data in garbage(data.count, seed: 1) },
                Damage(name: "\(file) keeps its header, the rest is random", file: file) { data in
                    data.prefix(100) + garbage(data.count - 100, seed: 2)
                },
                Damage(name: "\(file) has random pages", file: file) { data in
                    var damaged = data
                    for page in stride(from: 2, to: data.count / 4096, by: 3) {
                        damaged.replaceSubrange(
                            (page * 4096)..<(page * 4096 + 4096), with: garbage(4096, seed: UInt64(page)))
                    }
                    return damaged
                },
            ]
                + [0, 50, 100, 4096, 8192].map { size in
                    Damage(name: "\(file) truncated to \(size) bytes", file: file) { data in data.prefix(size) }
                }
                + [Damage(name: "\(file) truncated to half", file: file) { data in data.prefix(data.count / 2) }]
                + [Damage(name: "\(file) lost its last page", file: file) { data in data.prefix(data.count - 4096) }]
        }

    /// Whatever the damage: status 0 with every row right, or 65 (a miss
    /// under --offline), 74 or 78 with a message of embcache's own that
    /// names a file of the cache; the rows written are right either way.
    @Test(arguments: damages)
    func aDamagedCacheFileNeverGivesAWrongVector(_ damage: Damage) throws {
        let fixture = Fixture(records: 100)
        let cache = try fixture.populated()
        let path = cache + "/" + damage.file
        try damage.damage(try Data(contentsOf: URL(fileURLWithPath: path))).write(to: URL(fileURLWithPath: path))
        for (mode, flags) in [("offline", ["--offline", "--on-error", "null"]), ("writing", [])] {
            let context = "\(damage.name), \(mode)"
            let run = try fixture.run(cache, flags)
            #expect([0, 74, 78].contains(run.status), "\(context): status \(run.status): \(run.stderrText)")
            let rows = try fixture.rows(run.stdout, ["--prefix", "--allow-null"])
            #expect(rows.problems.isEmpty, "\(context): \(rows.problems)")
            if run.status == 0 {
                #expect(rows.rows == 100, "\(context)")
                if mode == "writing" { #expect(rows.nulls == 0, "\(context)") }
            } else {
                expectOwnMessages(run, context)
                #expect(run.stderrText.hasPrefix("embcache: cache \(cache)/"), "\(context): \(run.stderrText)")
            }
        }
    }

    /// A broken hashstring.sqlite was reported under the model file's
    /// name, and a model file broken past its header under
    /// hashstring.sqlite's: the user would mend the wrong file.
    @Test(arguments: [texts, vectors], [true, false])
    func aBrokenFileWasReportedUnderTheOtherFilesName(_ file: String, keepHeader: Bool) throws {
        let fixture = Fixture(records: 10)
        let cache = try fixture.populated()
        let url = URL(fileURLWithPath: cache + "/" + file)
        let original = try Data(contentsOf: url)
        let damaged =
            keepHeader
            ? original.prefix(100) + Self.garbage(original.count - 100, seed: 3)
            : Data(String(repeating: "not a database\n", count: 500).utf8)
        try damaged.write(to: url)
        let run = try fixture.run(cache)
        #expect(run.status == 78)
        #expect(run.stdout.isEmpty)
        #expect(
            run.stderrText.hasPrefix("embcache: cache \(cache)/\(file): cannot be opened as a cache"),
            "\(run.stderrText)")
        let other = file == Self.texts ? Self.vectors : Self.texts
        #expect(!run.stderrText.contains(other), "\(run.stderrText)")
    }

    // MARK: - Metadata that names another model or dimension

    @Test func metadataNamingAnotherModelIsRefusedForWritesAndLookups() throws {
        let fixture = Fixture(records: 20)
        let cache = try fixture.populated()
        try tamper(
            cache + "/" + Self.vectors, "update embcache_metadata set value = 'another-model' where key = 'model'")
        for flags in [[], ["--offline"], ["--offline", "--on-error", "null"]] {
            let run = try fixture.run(cache, flags)
            #expect(run.status == 78, "\(flags): \(run.stderrText)")
            #expect(run.stdout.isEmpty, "\(flags)")
            #expect(
                run.stderrText
                    == "embcache: cache \(cache)/\(Self.vectors): holds vectors of model \"another-model\", not \"\(Self.model)\"\n"
            )
        }
    }

    @Test func metadataNamingAnotherDimensionNeverServesItsRows() throws {
        let fixture = Fixture(records: 20)
        let cache = try fixture.populated()
        try tamper(cache + "/" + Self.vectors, "update embcache_metadata set value = '32' where key = 'dimension'")
        // The provider's 16 values disagree with the 32 the file claims:
        // refused as the provider's failure (69), named, and nothing written.
        let writing = try fixture.run(cache, ["-q"])
        #expect(writing.status == 69, "\(writing.stderrText)")
        #expect(writing.stdout.isEmpty)
        #expect(writing.stderrText.hasPrefix("embcache: "), "\(writing.stderrText)")
        #expect(writing.stderrText.contains("16") && writing.stderrText.contains("32"), "\(writing.stderrText)")
        #expect(try CacheCheck.cache(cache, model: Self.model, dim: 16).vectors == 20)
        // Lookups find rows of the wrong size for the file's claim: misses, never rows.
        let offline = try fixture.run(cache, ["--offline", "--on-error", "null", "-q"])
        #expect(offline.status == 0, "\(offline.stderrText)")
        let rows = try fixture.rows(offline.stdout, ["--allow-null"])
        #expect(rows.problems.isEmpty && rows.nulls == 20, "\(rows.problems)")
        let failing = try fixture.run(cache, ["--offline"])
        #expect(failing.status == 65)
        #expect(failing.stdout.isEmpty)
    }

    @Test func aHashModelFileOfAnotherDimensionIsRefusedAtOpen() throws {
        let work = TemporaryDirectory()
        let input = "{\"text\":\"a\"}\n"
        #expect(try Embcache.run(["--model", "hash-16", "--cache-dir", work.path], stdin: input).status == 0)
        try tamper(
            work.path + "/embedding-hash-16.sqlite", "update embcache_metadata set value = '8' where key = 'dimension'")
        let run = try Embcache.run(["--model", "hash-16", "--cache-dir", work.path], stdin: input)
        #expect(run.status == 78)
        #expect(run.stdout.isEmpty)
        #expect(
            run.stderrText
                == "embcache: cache \(work.path)/embedding-hash-16.sqlite: holds 8-dimensional vectors, but model \"hash-16\" gives 16\n"
        )
    }

    func tamper(_ path: String, _ sql: String) throws {
        let result = try python(
            "import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.execute(sys.argv[2])\ndb.commit()", [path, sql])
        try #require(result.status == 0, "\(result.stderrText)")
    }
}

/// One shell word.
func shellQuoted(_ word: String) -> String {
    "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
