import Foundation
import Testing

/// Each kind of bad record: its message names the line, the status is 65,
/// and every vector computed before it is in the cache.
@Suite struct InputErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var line: [UInt8]
        var message: String
        var extraFlags: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "invalid JSON", line: Array(#"{"text": "unterminated"#.utf8), message: "invalid JSON"),
        Case(
            name: "invalid UTF-8", line: Array(#"{"text": "caf"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),
            message: "invalid UTF-8 at byte 14"),
        Case(
            name: "overlong UTF-8", line: Array(#"{"text": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8),
            message: "invalid UTF-8"),
        Case(name: "missing field", line: Array(#"{"body": "x"}"#.utf8), message: #"missing field "text""#),
        Case(
            name: "number field", line: Array(#"{"text": 42}"#.utf8),
            message: #"field "text" is a number, not a string"#),
        Case(name: "null field", line: Array(#"{"text": null}"#.utf8), message: #"field "text" is null, not a string"#),
        Case(name: "empty text", line: Array(#"{"text": ""}"#.utf8), message: "empty text"),
        Case(name: "not an object", line: Array(#"["text"]"#.utf8), message: "record is not a JSON object"),
        Case(name: "escaped lone surrogate", line: Array(#"{"text": "\ud800"}"#.utf8), message: "invalid JSON"),
        Case(
            name: "line over the limit",
            line: Array(("{\"text\": \"" + String(repeating: "a", count: 300) + "\"}").utf8),
            message: "line longer than 200 bytes", extraFlags: ["--max-line-bytes", "200"]),
        Case(
            name: "field already present", line: Array(#"{"text": "a", "embedding": [1]}"#.utf8),
            message: #"record already has a field "embedding""#),
    ]

    @Test(arguments: cases)
    func badRecordStopsTheRunAfterCommittingWhatCameBefore(_ bad: Case) throws {
        let cache = TemporaryDirectory()
        let good = Data(corpus(5).utf8)
        let input = good + Data(bad.line) + Data("\n{\"text\":\"after\"}\n".utf8)
        let count = cache.file("calls")
        let result = try Embcache.run(
            [
                "--model", "fake", "--command", fakeProvider("--count \(count.path)"), "--cache-dir", cache.path,
                "--window", "3",
            ] + bad.extraFlags, stdin: input)
        #expect(result.status == 65)
        #expect(result.stderrText.hasPrefix("embcache: stdin:6: \(bad.message)"), "\(result.stderrText)")
        #expect(result.stdoutLines.count == 5)
        #expect(countLines(count) == 5, "records after the bad one were computed")
        // Everything before the bad line is cached: a re-run of it computes nothing.
        let rerun = try Embcache.run(
            ["--model", "fake", "--command", fakeProvider("--count \(count.path)"), "--cache-dir", cache.path],
            stdin: good)
        #expect(rerun.status == 0)
        #expect(countLines(count) == 5)
    }

    @Test func theMessageNamesTheFileAndItsLine() throws {
        let cache = TemporaryDirectory()
        let file = cache.write("docs.jsonl", "{\"text\":\"a\"}\n\n{\"text\":1}\n")
        let result = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path, file.path])
        #expect(result.status == 65)
        #expect(result.stderrText == "embcache: \(file.path):3: field \"text\" is a number, not a string\n")
    }

    @Test func skipLeavesBadRecordsOutAndSaysSo() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--on-error", "skip"],
            stdin: "{\"text\":\"a\"}\nnot json\n{\"text\":\"b\"}\n")
        #expect(result.status == 0)
        #expect(parseJSONLines(result.stdout).map { $0["text"] as! String } == ["a", "b"])
        #expect(result.stderrText.contains("stdin:2: invalid JSON"))
        #expect(result.stderrText.contains("(skipped)"))
    }

    @Test func nullKeepsOneOutputLinePerRecord() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--on-error", "null", "-q"],
            stdin: "{\"text\":\"a\"}\nnot json\n{\"id\":3,\"text\":\"\"}\n")
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let lines = result.stdoutLines
        #expect(lines.count == 3)
        #expect(lines[1] == "{\"embedding\":null}")
        #expect(lines[2] == "{\"id\":3,\"text\":\"\",\"embedding\":null}")
    }

    @Test func nullInMatrixOutputIsARowOfNaN() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-4", "--cache-dir", cache.path, "--on-error", "null", "-q", "--format", "f32"],
            stdin: "{\"text\":\"a\"}\n{\"text\":7}\n")
        #expect(result.status == 0)
        #expect(result.stdout.count == 2 * 4 * 4)
        let floats = result.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(floats[0..<4].allSatisfy { $0.isFinite })
        #expect(floats[4..<8].allSatisfy { $0.isNaN })
    }

    /// Regression: the records of the files before a missing one were
    /// dropped; cat writes them.
    @Test func recordsBeforeAMissingFileAreWritten() throws {
        let cache = TemporaryDirectory()
        let first = cache.write("a.jsonl", corpus(3))
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, first.path, cache.path + "/absent.jsonl"])
        #expect(result.status == 66)
        #expect(result.stdoutLines.count == 3)
    }

    @Test func offlineNullRowsOfAHashModelTakeItsDimension() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            [
                "--model", "hash-4", "--offline", "--cache-dir", cache.path, "--format", "f32", "--on-error", "null",
                "-q",
            ],
            stdin: "{\"text\":\"never\"}\n")
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdout.count == 16)
    }

    @Test func missingInputFileIsStatus66() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path, cache.path + "/nope.jsonl"])
        #expect(result.status == 66)
        #expect(result.stderrText == "embcache: \(cache.path)/nope.jsonl: no such file or directory\n")
    }

    @Test func usageErrorsAreStatus64() throws {
        for flags in [
            ["--format", "xml"], ["--window", "0"], ["--model", "m", "--provider", "nope"],
            ["--model", "m"], ["--model", "hash-8", "--dtype", "float64"], ["--model", "x", "--provider", "hash"],
            ["--model", "m", "--provider", "command"], ["--model", "hash-8", "--timeout", "inf"],
            ["--model", "hash-8", "--timeout", "1e17"],
            ["--model", "hash-8", "--input", "lines", "--output-field", "text"],
        ] {
            let result = try Embcache.run(flags + ["--cache-dir", "/nonexistent/never"], stdin: "")
            #expect(result.status == 64, "\(flags)")
            #expect(result.stderrText.hasPrefix("embcache: "), "\(flags)")
        }
    }
}
