import Foundation
import Testing

/// `--prefix`: the instruction e5, bge and nomic models want before each
/// text is part of what is keyed and embedded, so a prefixed text and the
/// bare one never share a vector.
@Suite struct PrefixTests {
    @Test func aPrefixedTextIsKeyedAndEmbeddedAsWhatItIs() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let count = work.file("count")
        func run(_ extra: [String], _ input: String) throws -> ProcessResult {
            try Embcache.run(
                ["-m", "m", "--cache-dir", cache, "--command", fakeProvider("--dim 8 --count \(count.path)"), "-q"]
                    + extra, stdin: input)
        }
        let bare = try run([], "{\"text\":\"apples\"}\n")
        let query = try run(["--prefix", "query: "], "{\"text\":\"apples\"}\n")
        let written = try run([], "{\"text\":\"query: apples\"}\n")
        #expect(bare.status == 0 && query.status == 0 && written.status == 0, "\(query.stderrText)")
        // The prefixed text's vector is that of the text written out in full,
        // computed once; the bare text's is another.
        #expect(vectors(query.stdout) == vectors(written.stdout))
        #expect(vectors(query.stdout) != vectors(bare.stdout))
        #expect(countLines(count) == 2)
        // The record itself is written as it came.
        #expect(query.stdoutText.hasPrefix("{\"text\":\"apples\",\"embedding\":"))
        // And the cache holds the text that was embedded.
        let lines = try Embcache.run(
            ["-m", "m", "--cache-dir", cache, "--offline", "--input", "lines", "--prefix", "query: "],
            stdin: "apples\n")
        #expect(lines.status == 0, "\(lines.stderrText)")
        #expect(lines.stdoutText.hasPrefix("{\"text\":\"query: apples\","), "\(lines.stdoutText)")
    }

    /// A long text is cut out of its record's bytes and put back as it is
    /// written; with a prefix, the record must come back as it was read.
    @Test func aLongPrefixedRecordIsWrittenAsItCame() throws {
        let work = TemporaryDirectory()
        let text = String(repeating: "long words ", count: 20_000)
        let record = "{\"id\":1,\"text\":\"\(text)\",\"tail\":true}"
        let result = try Embcache.run(
            ["-m", "hash-8", "--cache-dir", work.path, "--prefix", "passage: ", "-q"], stdin: record + "\n")
        #expect(result.status == 0, "\(result.stderrText)")
        let line = result.stdoutText
        #expect(line.hasPrefix(String(record.dropLast()) + ",\"embedding\":["), "\(line.prefix(80))")
        #expect(!line.contains("passage: "))
    }
}
