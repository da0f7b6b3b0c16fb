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
}
