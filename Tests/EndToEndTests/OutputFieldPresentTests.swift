import Foundation
import Testing

/// A record that has the output field already (issue 16): a record
/// without a vector under `--on-error`, or, with `--overwrite`, a record
/// whose field is replaced. The field is never written twice.
@Suite struct OutputFieldPresentTests {
    static let input = "{\"text\":\"a\"}\n{\"id\":7,\"embedding\":[1],\"text\":\"b\"}\n{\"text\":\"c\"}\n"

    @Test func underSkipTheRecordIsLeftOutAndTheRunGoesOn() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--on-error", "skip"], stdin: Self.input)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutLines.count == 2)
        #expect(result.stdoutLines.allSatisfy { !$0.contains("\"id\":7") })
        #expect(
            result.stderrText.contains("stdin:2: record already has a field \"embedding\""),
            "\(result.stderrText)")
        #expect(result.stderrText.contains("--overwrite"), "\(result.stderrText)")
    }

    @Test func underNullTheFieldIsWrittenOnceAsNull() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--on-error", "null"], stdin: Self.input)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutLines.count == 3)
        #expect(result.stdoutLines[1] == "{\"id\":7,\"text\":\"b\",\"embedding\":null}")
        #expect(result.stderrText.contains("stdin:2: record already has a field"), "\(result.stderrText)")
    }

    @Test func underFailTheRunStopsAtTheRecord() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: Self.input)
        #expect(result.status == 65)
        #expect(result.stderrText.hasPrefix("embcache: stdin:2: record already has a field \"embedding\""))
        #expect(result.stdoutLines.count == 1)
    }

    /// Each record with the field, wherever it stands and however often,
    /// is written as the record without it would be: the rest byte for
    /// byte, the new vector added once.
    @Test(arguments: ["jsonl", "base64"]) func overwriteReplacesTheFieldWhereverItStands(format: String) throws {
        let cache = TemporaryDirectory()
        let long = String(repeating: "long text ", count: 8 << 10)
        let cases: [(has: String, without: String)] = [
            (#"{"embedding":[1],"text":"a"}"#, #"{"text":"a"}"#),
            (#"{"id":1, "embedding": [1] ,"text":"b"}"#, #"{"id":1 ,"text":"b"}"#),
            (#"{"text":"c","embedding":null}"#, #"{"text":"c"}"#),
            (#"{ "embedding":{"x":[1,2]} , "text":"d" }"#, #"{ "text":"d" }"#),
            (#"{"embedding":1,"embedding":2,"text":"e","n":[],"embedding":3}"#, #"{"text":"e","n":[]}"#),
            (#"{"embed\u0064ing":"x","text":"f"}"#, #"{"text":"f"}"#),
            (#"{"meta":{"embedding":1},"text":"g"}"#, #"{"meta":{"embedding":1},"text":"g"}"#),
            // A text long enough to be cut out of its record, after the field.
            ("{\"embedding\":[0.5],\"id\":2,\"text\":\"\(long)\",\"k\":1}", "{\"id\":2,\"text\":\"\(long)\",\"k\":1}"),
        ]
        let flags = ["--model", "hash-8", "--cache-dir", cache.path, "--format", format]
        let replaced = try Embcache.run(
            flags + ["--overwrite"], stdin: cases.map(\.has).joined(separator: "\n") + "\n")
        let plain = try Embcache.run(flags, stdin: cases.map(\.without).joined(separator: "\n") + "\n")
        #expect(replaced.status == 0, "\(replaced.stderrText)")
        #expect(plain.status == 0, "\(plain.stderrText)")
        #expect(replaced.stdoutLines.count == cases.count)
        for (index, (got, want)) in zip(replaced.stdoutLines, plain.stdoutLines).enumerated() {
            #expect(got == want, "case \(index)")
        }
    }

    /// With --overwrite a record that is only the field, and so has no
    /// text, is still one record: under null it is `{"embedding":null}`.
    @Test func overwriteOfARecordWithoutTextFollowsOnError() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", cache.path, "--overwrite", "--on-error", "null"],
            stdin: "{\"embedding\":[1]}\n{ \"embedding\":[1] , \"embedding\":2 }\n")
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutLines == ["{\"embedding\":null}", "{  \"embedding\":null}"])
        #expect(result.stderrText.contains("stdin:1: missing field \"text\""), "\(result.stderrText)")
    }

    /// f32 and npy write no field, lines input has none to replace.
    @Test func overwriteWithoutAFieldToReplaceIsAUsageError() throws {
        for flags in [["--format", "f32"], ["--format", "npy"], ["--input", "lines"]] {
            let result = try Embcache.run(
                ["--model", "hash-8", "--cache-dir", "/nonexistent/never", "--overwrite"] + flags, stdin: "")
            #expect(result.status == 64, "\(flags)")
            #expect(result.stderrText.contains("--overwrite"), "\(flags): \(result.stderrText)")
        }
    }
}
