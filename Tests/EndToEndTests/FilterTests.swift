import Foundation
import Testing

@Suite struct FilterTests {
    @Test func hashModelComputesThenAnswersFromTheCache() throws {
        let cache = TemporaryDirectory()
        let input = "{\"text\":\"hello world\"}\n{\"text\":\"second\"}\n"
        let first = try Embcache.run(["--model", "hash-16", "--cache-dir", cache.path, "-v"], stdin: input)
        #expect(first.status == 0)
        #expect(first.stdoutLines.count == 2)
        #expect(first.stderrText.contains("2 computed"))
        let second = try Embcache.run(["--model", "hash-16", "--cache-dir", cache.path, "-v"], stdin: input)
        #expect(second.stdout == first.stdout)
        #expect(second.stderrText.contains("0 computed"))
        #expect(second.stderrText.contains("2 hits"))
    }

    @Test func secondRunCallsTheProviderForNothingAndWritesTheSameBytes() throws {
        let cache = TemporaryDirectory()
        let count = cache.file("calls")
        let input = corpus(300)
        let arguments = [
            "--model", "fake", "--command", fakeProvider("--count \(count.path)"), "--cache-dir", cache.path,
            "--window", "64", "--batch-size", "10",
        ]
        let first = try Embcache.run(arguments, stdin: input)
        #expect(first.status == 0, "\(first.stderrText)")
        #expect(countLines(count) == 300)
        let second = try Embcache.run(arguments, stdin: input)
        #expect(second.status == 0)
        #expect(countLines(count) == 300, "the second run called the provider")
        #expect(second.stdout == first.stdout)
    }

    @Test func duplicatesInOneRunAreComputedOnce() throws {
        let cache = TemporaryDirectory()
        let count = cache.file("calls")
        let input = String(repeating: "{\"text\":\"same\"}\n{\"text\":\"other\"}\n", count: 50)
        let result = try Embcache.run(
            [
                "--model", "fake", "--command", fakeProvider("--count \(count.path)"), "--cache-dir", cache.path,
                "--window", "7", "-v",
            ], stdin: input)
        #expect(result.status == 0)
        #expect(countLines(count) == 2)
        #expect(result.stdoutLines.count == 100)
        #expect(result.stderrText.contains("2 unique"))
    }

    @Test func permutedInputGivesPermutedVectors() throws {
        let cache = TemporaryDirectory()
        let records = corpus(40).split(separator: "\n").map(String.init)
        let permutation = Array(records.indices).shuffled()
        let arguments = ["--model", "hash-32", "--cache-dir", cache.path]
        let straight = try Embcache.run(arguments, stdin: records.joined(separator: "\n") + "\n")
        let fresh = TemporaryDirectory()
        let shuffled = try Embcache.run(
            ["--model", "hash-32", "--cache-dir", fresh.path],
            stdin: permutation.map { records[$0] }.joined(separator: "\n") + "\n")
        let a = straight.stdoutLines
        let b = shuffled.stdoutLines
        #expect(a.count == 40 && b.count == 40)
        for (position, original) in permutation.enumerated() {
            #expect(b[position] == a[original])
        }
    }

    @Test func outputKeepsEachRecordByteForByteAndAddsOneField() throws {
        let cache = TemporaryDirectory()
        let input = """
            {"text": "spaced  out" ,  "meta": {"n": 1.50, "s": "\\u00e9"}}
            {"a":[1,2,{"b":null}],"text":"x"}\t
            """ + "\n"
        let result = try Embcache.run(["--model", "hash-4", "--cache-dir", cache.path], stdin: input)
        #expect(result.status == 0)
        let lines = result.stdoutLines
        #expect(lines[0].hasPrefix(#"{"text": "spaced  out" ,  "meta": {"n": 1.50, "s": "\u00e9"},"embedding":["#))
        #expect(lines[0].hasSuffix("]}"))
        #expect(lines[1].hasPrefix(#"{"a":[1,2,{"b":null}],"text":"x","embedding":["#))
        #expect(lines[1].hasSuffix("]}\t"))
    }

    @Test func emptyObjectTakesTheFieldWithoutAComma() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-4", "--cache-dir", cache.path, "--text-field", "t", "--on-error", "null", "-q"],
            stdin: "{}\n")
        #expect(result.stdoutText == "{\"embedding\":null}\n")
    }

    @Test func dottedTextFieldReachesIntoNestedObjects() throws {
        let cache = TemporaryDirectory()
        let nested = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--text-field", "doc.body.text"],
            stdin: "{\"doc\":{\"body\":{\"text\":\"hello world\"}}}\n")
        let flat = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path], stdin: "{\"text\":\"hello world\"}\n")
        #expect(nested.status == 0)
        #expect(vectors(nested.stdout) == vectors(flat.stdout))
    }

    @Test func linesInputEmitsTextAndEmbedding() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--input", "lines"],
            stdin: "first \"quoted\"\r\n\nsecond\\line")
        #expect(result.status == 0, "\(result.stderrText)")
        let records = parseJSONLines(result.stdout)
        #expect(records.count == 2)
        #expect(records[0]["text"] as? String == "first \"quoted\"")
        #expect(records[1]["text"] as? String == "second\\line")
        #expect((records[1]["embedding"] as? [Any])?.count == 8)
    }

    @Test func crlfLastLineWithoutNewlineBlankLinesAndBOM() throws {
        let cache = TemporaryDirectory()
        let messy = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path],
            stdin: Data([0xEF, 0xBB, 0xBF]) + Data("{\"text\":\"a\"}\r\n\r\n   \n{\"text\":\"b\"}".utf8))
        let clean = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n")
        #expect(messy.status == 0, "\(messy.stderrText)")
        #expect(messy.stdout == clean.stdout)
    }

    @Test func filesAndStdinAreReadInOrder() throws {
        let cache = TemporaryDirectory()
        let first = cache.write("a.jsonl", "{\"text\":\"one\"}\n")
        let second = cache.write("b.jsonl", "{\"text\":\"three\"}\n")
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, first.path, "-", second.path],
            stdin: "{\"text\":\"two\"}\n")
        #expect(result.status == 0)
        let texts = parseJSONLines(result.stdout).map { $0["text"] as! String }
        #expect(texts == ["one", "two", "three"])
    }

    @Test func outputFieldAndNormalization() throws {
        let cache = TemporaryDirectory()
        let input = "{\"text\":\"alpha beta\"}\n"
        let command = fakeProvider("--dim 4")
        let raw = try Embcache.run(
            [
                "--model", "fake", "--command", command, "--cache-dir", cache.path, "--no-normalize", "--output-field",
                "v",
            ],
            stdin: input)
        let unit = try Embcache.run(["--model", "fake", "--command", command, "--cache-dir", cache.path], stdin: input)
        let stored = vectors(raw.stdout, field: "v")[0]
        let normalized = vectors(unit.stdout)[0]
        let norm = stored.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(normalized.map { $0 * $0 }.reduce(0, +) - 1) < 1e-6)
        for (a, b) in zip(stored, normalized) { #expect(abs(a / norm - b) < 1e-6) }
    }

    @Test func modelComesFromTheEnvironmentAndWithoutOneItIsAUsageError() throws {
        let cache = TemporaryDirectory()
        let missing = try Embcache.run(["--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n")
        #expect(missing.status == 64)
        #expect(missing.stderrText.hasPrefix("embcache: no model"))
        let fromEnvironment = try Embcache.run(
            ["--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n", environment: ["EMBCACHE_MODEL": "hash-8"])
        #expect(fromEnvironment.status == 0)
    }

    @Test func cacheDirectoryComesFromTheEnvironment() throws {
        let home = TemporaryDirectory()
        let viaEnv = try Embcache.run(
            ["--model", "hash-8"], stdin: "{\"text\":\"a\"}\n", environment: ["EMBCACHE_DIR": home.path + "/env"])
        #expect(viaEnv.status == 0)
        #expect(FileManager.default.fileExists(atPath: home.path + "/env/embedding-hash-8.sqlite"))
        let viaXDG = try Embcache.run(
            ["--model", "hash-8"], stdin: "{\"text\":\"a\"}\n", environment: ["XDG_CACHE_HOME": home.path + "/xdg"])
        #expect(viaXDG.status == 0)
        #expect(FileManager.default.fileExists(atPath: home.path + "/xdg/embcache/hashstring.sqlite"))
        let viaHome = try Embcache.run(
            ["--model", "hash-8"], stdin: "{\"text\":\"a\"}\n",
            environment: ["HOME": home.path + "/home", "XDG_CACHE_HOME": ""])
        #expect(viaHome.status == 0)
        #expect(FileManager.default.fileExists(atPath: home.path + "/home/.cache/embcache/hashstring.sqlite"))
    }
}
