import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// kill -9 at many points of one long run: whatever the moment, the cache
/// opens, is intact, holds only right vectors, loses nothing it committed,
/// and a re-run computes exactly what was not committed and writes what an
/// uninterrupted run writes.
@Suite struct CrashSafetyTests {
    static let model = "crash-model"
    static let dim = 16
    static let flags = ["--model", model, "--window", "8", "--batch-size", "2", "--max-requests", "2"]

    @Test func killNineAtTwentyPointsOfALongRunLosesNothingAndStoresNoWrongVector() throws {
        let seed = SeededRandom.seed()
        var random = SeededRandom(seed: seed)
        let work = TemporaryDirectory()
        // 480 distinct texts, 40 of them twice, in a shuffled order.
        let texts = (0..<480).map { "crash text \($0) " + String(repeating: "é", count: $0 % 5) }
        var records = texts + texts.prefix(40)
        records.shuffle(using: &random)
        let inputText = records.enumerated().map { "{\"id\":\($0.offset),\"text\":\"\($0.element)\"}\n" }.joined()
        let inputFile = work.write("input.jsonl", inputText)
        let input = Data(inputText.utf8)

        let reference = try Embcache.run(
            ["--cache-dir", work.path + "/reference", "--command", fakeProvider("--dim \(Self.dim)")] + Self.flags,
            stdin: input)
        try #require(reference.status == 0, "\(reference.stderrText)")
        try reference.stdout.write(to: work.file("reference.jsonl"))
        let referenceRows = try CacheCheck.rows(input: inputFile, output: work.file("reference.jsonl"), dim: Self.dim)
        try #require(referenceRows.problems.isEmpty, "\(referenceRows.problems)")

        let cache = work.path + "/cache"
        var committedBefore: Set<String> = []
        var kills = 0
        var killsAfterProgress = 0
        for round in 0..<80 where kills < 24 {
            let context = "seed \(seed), round \(round)"
            let count = work.file("count-\(round)")
            let running = try RunningProcess(
                Embcache.binary,
                [
                    "--cache-dir", cache, "--command",
                    fakeProvider("--dim \(Self.dim) --delay 0.03 --count \(count.path)"),
                ]
                    + Self.flags)
            running.feed(input)
            running.closeInput()
            if round % 3 == 0 {
                // Anywhere, start-up and schema creation included.
                running.pump(seconds: Double.random(in: 0...0.25, using: &random))
            } else {
                // After some texts are computed, at a random moment around a commit.
                let target = Int.random(in: 1...16, using: &random)
                let deadline = Date().addingTimeInterval(20)
                while countLines(count) < target && !running.outputsClosed && Date() < deadline {
                    running.pump(seconds: 0.005)
                }
                running.pump(seconds: Double.random(in: 0...0.03, using: &random))
            }
            running.signal(SIGKILL)
            let killed = running.finish()
            if killed.status == 0 { break }  // the run ended before the kill: nothing is left to interrupt
            #expect(killed.status == 128 + SIGKILL, "\(context): \(killed.stderrText)")
            kills += 1
            // What a killed run wrote is the start of the right output.
            #expect(reference.stdout.starts(with: killed.stdout), "\(context): a killed run wrote a wrong row")

            let report = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim, input: inputFile)
            #expect(report.problems.isEmpty, "\(context): \(report.problems)")
            let committed = Set(report.committed)
            #expect(committed.isSuperset(of: committedBefore), "\(context): committed vectors were lost")
            #expect(
                Set(countedKeys(count)).isDisjoint(with: committedBefore),
                "\(context): a committed text was computed again")
            if committed.count > committedBefore.count { killsAfterProgress += 1 }

            // A kill before start-up made the cache leaves nothing to re-run from.
            guard FileManager.default.fileExists(atPath: cache) else { continue }
            // A re-run from exactly this state, on a copy (with the -wal the kill left).
            let copy = work.path + "/copy-\(round)"
            try FileManager.default.copyItem(atPath: cache, toPath: copy)
            let rerunCount = work.file("rerun-count-\(round)")
            let rerun = try Embcache.run(
                ["--cache-dir", copy, "--command", fakeProvider("--dim \(Self.dim) --count \(rerunCount.path)")]
                    + Self.flags, stdin: input)
            #expect(rerun.status == 0, "\(context): \(rerun.stderrText)")
            #expect(rerun.stdout == reference.stdout, "\(context): the re-run's output differs")
            let recomputed = countedKeys(rerunCount)
            #expect(recomputed.count == Set(recomputed).count, "\(context): a text was computed twice")
            #expect(
                Set(recomputed) == Set(report.missing ?? []),
                "\(context): the re-run computed \(recomputed.count) texts, \(report.missing?.count ?? -1) were missing"
            )
            try? FileManager.default.removeItem(atPath: copy)
            committedBefore = committed
        }
        #expect(kills >= 20, "seed \(seed): only \(kills) kill points before the run completed")
        #expect(killsAfterProgress >= 10, "seed \(seed): only \(killsAfterProgress) kills came after new commits")

        // The same cache, finished without a kill: exactly the rest is computed.
        let finalCount = work.file("final-count")
        let before = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim, input: inputFile)
        let final = try Embcache.run(
            ["--cache-dir", cache, "--command", fakeProvider("--dim \(Self.dim) --count \(finalCount.path)")]
                + Self.flags, stdin: input)
        #expect(final.status == 0, "\(final.stderrText)")
        #expect(final.stdout == reference.stdout)
        #expect(Set(countedKeys(finalCount)) == Set(before.missing ?? []))
        #expect(countLines(finalCount) == (before.missing ?? []).count)
        let after = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim, input: inputFile)
        #expect(after.problems.isEmpty, "\(after.problems)")
        #expect(after.vectors == 480 && after.missing == [])
        print("CrashSafetyTests: seed \(seed), \(kills) kill points survived (\(killsAfterProgress) after new commits)")
    }
}
