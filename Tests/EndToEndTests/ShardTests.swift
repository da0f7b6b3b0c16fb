import Foundation
import Testing

/// `--shard K/N` and `--format none`: N workers split one corpus by key,
/// and one `--offline` run writes it back in input order, as a single run
/// would have.
@Suite struct ShardTests {
    static let model = "shard-model"

    /// 400 records over 260 texts: copies of a text, near and far apart.
    static let input: String = {
        var random = SeededRandom(seed: 20)
        return (0..<400).map { index in
            "{\"n\":\(index),\"text\":\"text \(Int.random(in: 0..<260, using: &random)) of a corpus é\"}\n"
        }.joined()
    }()

    static var texts: Set<String> { Set(parseJSONLines(Data(input.utf8)).map { $0["text"] as! String }) }

    /// The caches a sharded job can fill: a directory, and PostgreSQL when
    /// the suite has its server.
    static let stores = ["directory"] + (TestDatabase.available ? ["postgresql"] : [])

    func cache(_ store: String, _ work: TemporaryDirectory) throws -> [String] {
        store == "directory" ? ["--cache-dir", work.path + "/cache"] : ["--db", try TestDatabase.fresh()]
    }

    func run(_ cache: [String], _ extra: [String], count: URL? = nil) throws -> ProcessResult {
        let counting = count.map { " --count \($0.path)" } ?? ""
        return try Embcache.run(
            [
                "--model", Self.model, "--command", fakeProvider("--dim 8" + counting), "--window", "32",
                "--batch-size", "8",
            ] + cache + extra,
            stdin: Self.input)
    }

    @Test(arguments: stores)
    func shardsSplitTheKeysAndTheOfflineRunAssemblesTheSingleRunsBytes(store: String) throws {
        let work = TemporaryDirectory()
        let single = try run(["--cache-dir", work.path + "/single"], [])
        try #require(single.status == 0, "\(single.stderrText)")

        let cache = try cache(store, work)
        let counts = (1...3).map { work.file("count-\($0)") }
        for k in 1...3 {
            let worker = try run(cache, ["--shard", "\(k)/3", "--format", "none"], count: counts[k - 1])
            #expect(worker.status == 0, "worker \(k): \(worker.stderrText)")
            #expect(worker.stdout.isEmpty, "worker \(k) wrote to stdout")
        }
        let computed = counts.map { (try? String(contentsOf: $0, encoding: .utf8))?.split(separator: "\n") ?? [] }
        // Every distinct text computed once in all: no overlap, nothing
        // left out, and the copies of a text all in one shard.
        #expect(computed.map(\.count).reduce(0, +) == Self.texts.count)
        #expect(Set(computed.joined()).count == Self.texts.count)
        // Each worker computed only keys of its own part, by the formula
        // the manual gives (first 8 bytes big-endian, mod N, plus 1).
        for (k, keys) in computed.enumerated() {
            #expect(!keys.isEmpty)
            for key in keys { #expect(UInt64(key.prefix(16), radix: 16)! % 3 + 1 == UInt64(k + 1), "\(key)") }
        }

        let assembled = try run(cache, ["--offline", "-v"])
        #expect(assembled.status == 0, "\(assembled.stderrText)")
        #expect(assembled.stdout == single.stdout)

        // A worker run again computes nothing.
        for k in 1...3 {
            let again = try run(cache, ["--shard", "\(k)/3", "--format", "none"], count: counts[k - 1])
            #expect(again.status == 0)
        }
        #expect(counts.map(countLines).reduce(0, +) == Self.texts.count)

        // A shard run that writes gives its own records, in input order.
        let lines = single.stdoutLines
        var seen: [String] = []
        for k in 1...3 {
            let part = try run(cache, ["--shard", "\(k)/3", "--offline"])
            #expect(part.status == 0)
            seen += part.stdoutLines
            let ordered = part.stdoutLines.compactMap { lines.firstIndex(of: $0) }
            #expect(ordered == ordered.sorted())
        }
        #expect(seen.sorted() == lines.sorted())
    }

    @Test(arguments: ["0/3", "4/3", "1/0", "-1/3", "1/-3", "a/b", "1/3/4", "13", "/3", "1/", " 1/3", "1.0/3", ""])
    func aShardOutsideOneThroughNIsAUsageError(shard: String) throws {
        let work = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", work.path, "--shard", shard], stdin: corpus(2))
        #expect(result.status == 64, "\(shard): \(result.stderrText)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.contains("--shard"))
    }

    @Test func formatNoneTakesNoOutputFileAndNoneIsNoExportFormat() throws {
        let work = TemporaryDirectory()
        let withFile = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", work.path, "--format", "none", "-o", work.path + "/out"],
            stdin: corpus(2))
        #expect(withFile.status == 64)
        #expect(!FileManager.default.fileExists(atPath: work.path + "/out"))
        let export = try Embcache.run(["export", "--model", "hash-8", "--cache-dir", work.path, "--format", "none"])
        #expect(export.status == 64)
    }

    @Test func aRecordWithoutATextIsInEveryShard() throws {
        let work = TemporaryDirectory()
        let input = corpus(30) + "{\"id\":\"no text\"}\n"
        for k in 1...2 {
            let result = try Embcache.run(
                [
                    "--model", "hash-8", "--cache-dir", work.path, "--shard", "\(k)/2", "--format", "none",
                    "--on-error", "skip",
                ],
                stdin: input)
            #expect(result.status == 0)
            #expect(result.stderrText.contains("stdin:31"), "shard \(k): \(result.stderrText)")
        }
    }
}
