import Foundation
import Testing

/// Eight processes on one SQLite cache at once, writers and lookup-only
/// readers over overlapping texts: all succeed, every row is its own
/// text's vector, each text is stored once, nothing committed goes missing.
@Suite struct ConcurrencyTests {
    static let model = "shared-model"
    static let dim = 16

    @Test func eightProcessesWritersAndReadersOnOneCacheLoseNothingAndDuplicateNothing() throws {
        let seed = SeededRandom.seed()
        var random = SeededRandom(seed: seed)
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let universe = (0..<1200).map { "shared text \($0) " + String(repeating: "ü", count: $0 % 3) }
        func jsonl(_ texts: [String]) -> String {
            texts.enumerated().map { "{\"n\":\($0.offset),\"text\":\"\($0.element)\"}\n" }.joined()
        }

        // What the readers can count on: texts committed before they start.
        let seeded = Array(universe.prefix(300))
        let seedInput = work.write("seed.jsonl", jsonl(seeded))
        let seeding = try Embcache.run(
            [
                "--model", Self.model, "--cache-dir", cache, "--command", fakeProvider("--dim \(Self.dim)"),
                seedInput.path,
            ])
        try #require(seeding.status == 0, "\(seeding.stderrText)")

        struct Role {
            var name: String
            var arguments: [String]
            var input: URL
            var reader: Bool
        }
        var roles: [Role] = []
        for index in 0..<8 {
            // Each takes 450 texts of the universe, the seeded ones among
            // them, some twice, in its own order: they overlap heavily.
            var texts =
                (0..<450).map { _ in universe.randomElement(using: &random)! }
                + seeded.shuffled(using: &random).prefix(50)
            texts.shuffle(using: &random)
            let input = work.write("input-\(index).jsonl", jsonl(texts))
            let reader = index % 3 == 2
            let arguments =
                reader
                ? ["--offline", "--on-error", "null", "-q"]
                : [
                    "--command", fakeProvider("--dim \(Self.dim)"), "--window", String([7, 50, 100, 256][index % 4]),
                    "--batch-size", String(Int.random(in: 1...32, using: &random)),
                    "--max-requests", String(Int.random(in: 1...3, using: &random)),
                ]
            roles.append(
                Role(
                    name: "\(reader ? "reader" : "writer") \(index)",
                    arguments: ["--model", Self.model, "--cache-dir", cache] + arguments, input: input, reader: reader))
        }
        // All eight start before any is fed, then all run at once (each
        // input fits in a pipe, so feeding one does not wait for it).
        let processes = try roles.map { try RunningProcess(Embcache.binary, $0.arguments) }
        for (process, role) in zip(processes, roles) { process.feed(try Data(contentsOf: role.input)) }
        let results = processes.map { $0.finish(within: 120) }

        var outputs: [URL] = []
        for ((result, hung), role) in zip(results, roles) {
            let context = "seed \(seed), \(role.name)"
            #expect(!hung, "\(context) hung")
            #expect(result.status == 0, "\(context): \(result.stderrText)")
            let output = work.file("output-\(role.name).jsonl")
            try result.stdout.write(to: output)
            outputs.append(output)
            let rows = try CacheCheck.rows(
                input: role.input, output: output, dim: Self.dim, role.reader ? ["--allow-null"] : [])
            #expect(rows.problems.isEmpty, "\(context): \(rows.problems)")
            #expect(rows.rows == 500, "\(context)")
            if role.reader {
                // A reader may miss what others are writing, never what was committed before it began.
                #expect(rows.nulls <= 450, "\(context)")
                let nullLines = result.stdoutText.split(separator: "\n").filter { $0.hasSuffix("\"embedding\":null}") }
                for line in nullLines {
                    #expect(
                        !seeded.contains { line.contains("\"text\":\"\($0)\"") },
                        "\(context): a seeded text was not found")
                }
            }
        }
        // Identical texts got identical vectors in every process.
        let lines = try CacheCheck.lines(outputs, dim: Self.dim)
        #expect(lines.problems.isEmpty, "\(lines.problems)")
        var byText: [String: [Double]] = [:]
        for output in outputs {
            for record in parseJSONLines(try Data(contentsOf: output)) {
                guard let text = record["text"] as? String, let vector = record["embedding"] as? [NSNumber] else {
                    continue
                }
                let values = vector.map(\.doubleValue)
                if let earlier = byText[text] { #expect(earlier == values, "seed \(seed): two vectors for one text") }
                byText[text] = values
            }
        }
        // Every text any writer had is stored exactly once, and nothing else.
        let union = Set(
            roles.filter { !$0.reader }.flatMap { role in
                parseJSONLines(try! Data(contentsOf: role.input)).map { $0["text"] as! String }
            }
        ).union(seeded)
        let all = work.write("all.jsonl", jsonl(Array(union)))
        let report = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim, input: all)
        #expect(report.problems.isEmpty, "seed \(seed): \(report.problems)")
        #expect(report.missing == [], "seed \(seed): texts a writer computed are missing")
        #expect(report.vectors == union.count && report.texts == union.count, "seed \(seed)")
    }

    /// Eight writers on exactly the same input at the same moment, all
    /// racing to insert the same keys: the same bytes out of each, every
    /// text stored once.
    @Test func eightWritersOfTheSameTextsAtOnceWriteTheSameBytes() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let input = Data((corpus(400, prefix: "race") + corpus(100, prefix: "race")).utf8)
        let processes = try (0..<8).map { index in
            try RunningProcess(
                Embcache.binary,
                ["--model", "hash-32", "--cache-dir", cache, "--window", String([1, 10, 64, 500][index % 4])])
        }
        for process in processes { process.feed(input) }
        let results = processes.map { $0.finish(within: 120) }
        let reference = try Embcache.run(["--model", "hash-32", "--cache-dir", work.path + "/alone"], stdin: input)
        for (result, hung) in results {
            #expect(!hung)
            #expect(result.status == 0, "\(result.stderrText)")
            #expect(result.stdout == reference.stdout)
        }
        let counts = try python(
            """
            import sqlite3, sys
            for name in ("embedding-hash-32.sqlite", "hashstring.sqlite"):
                db = sqlite3.connect(sys.argv[1] + "/" + name)
                table = "embedding" if name.startswith("embedding") else "hashstring"
                print(db.execute("select count(*), count(distinct hashid) from " + table).fetchone())
            """, [cache])
        #expect(counts.stdoutText == "(400, 400)\n(400, 400)\n", "\(counts.stderrText)")
    }
}
