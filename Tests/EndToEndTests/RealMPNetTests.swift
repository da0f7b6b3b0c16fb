import Foundation
import Testing

/// The real all-mpnet-base-v2 (about 470 MB, fetched and kept in .cache by
/// Scripts/fetch-mpnet-model), against the vectors sentence-transformers
/// gave for the same texts (Fixtures/encoders/mpnet-expected.jsonl, made by
/// make_mpnet_expected.py). Opt-in, as the download is too large for every
/// run: skipped, not passed, unless EMBCACHE_TEST_MPNET=1.
@Suite struct RealMPNetTests {
    static let enabled = ProcessInfo.processInfo.environment["EMBCACHE_TEST_MPNET"] == "1"

    @Test(.enabled(if: enabled, "set EMBCACHE_TEST_MPNET=1 to fetch and run the real all-mpnet-base-v2"))
    func allMPNetBaseV2GivesTheVectorsOfSentenceTransformers() throws {
        let fetch = try runProcess(Embcache.packageRoot.appendingPathComponent("Scripts/fetch-mpnet-model").path, [])
        #expect(fetch.status == 0, "\(fetch.stderrText)")
        let model = fetch.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let scratch = TemporaryDirectory()
        let input = try Data(contentsOf: EncoderParityTests.texts)
        let result = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", scratch.path, "--no-normalize"],
            stdin: input)
        #expect(result.status == 0, "\(result.stderrText)")
        let want = vectors(
            try Data(contentsOf: EncoderParityTests.directory.appendingPathComponent("mpnet-expected.jsonl")))
        let got = vectors(result.stdout)
        #expect(want.count == parseJSONLines(input).count && got.count == want.count)
        for (index, (a, b)) in zip(want, got).enumerated() {
            #expect(a.count == 768 && b.count == 768)
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-5, "text \(index): largest difference \(difference)")
        }
    }
}
