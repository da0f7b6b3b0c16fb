import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Rough edges a newcomer met on the first day (issue 16, part 3), each
/// pinned by the binary's own behaviour.
@Suite struct FirstDayTests {
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
}
