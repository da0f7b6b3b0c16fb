import Foundation
import Testing

/// The property the cache stands on: whatever the input (duplicates,
/// look-alike texts), the state of the cache (empty, partly filled, holding
/// bad rows, written to by another process at the same time) and the
/// flags (window, batch size and bytes, requests in flight, format), output
/// row i is the provider's vector of record i's text, and the run computes
/// exactly the texts the cache could not answer.
@Suite struct WrongVectorPropertyTests {
    static let model = "property-model"
    static let dim = 12

    /// Texts that are easy to confuse: near duplicates, look-alikes,
    /// escapes, long ones.
    static func universe(_ random: inout SeededRandom) -> [String] {
        var texts: [String] = []
        for index in 0..<Int.random(in: 20...90, using: &random) {
            let base = "text \(index)"
            switch Int.random(in: 0..<9, using: &random) {
            case 0: texts += [base, base + " ", " " + base]
            case 1: texts += [base.uppercased(), base]
            case 2: texts += ["caf\u{E9} \(index)", "cafe\u{301} \(index)"]
            case 3: texts.append("line\nbreak \"quoted\" \\ \(index)\ttab")
            case 4: texts.append("nul\u{0}inside \(index)")
            case 5: texts.append("😀 \(index) 日本語")
            case 6: texts.append(String(repeating: "long \(index) ", count: Int.random(in: 100...900, using: &random)))
            default: texts.append(base)
            }
        }
        return texts
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
    }

    static func jsonl(_ texts: [String], _ random: inout SeededRandom) -> String {
        texts.enumerated().map { index, text in
            switch Int.random(in: 0..<3, using: &random) {
            case 0: "{\"text\":\(jsonString(text))}\n"
            case 1: "{\"id\":\(index),\"meta\":{\"text\":\"not this one\"},\"text\":\(jsonString(text))}\n"
            default: " { \"text\" : \(jsonString(text)) , \"n\" : [\(index), 1e3] }\r\n"
            }
        }.joined()
    }

    @Test func outputRowIAlwaysIsTheVectorOfRecordIText() throws {
        let seed = SeededRandom.seed()
        var random = SeededRandom(seed: seed)
        var trials = 0
        var rowsChecked = 0
        let started = Date()
        while trials < 16 && Date().timeIntervalSince(started) < 30 {
            let work = TemporaryDirectory()
            let cache = work.path + "/cache"
            let context = "seed \(seed), trial \(trials)"
            let universe = Self.universe(&random)
            func draw(_ count: Int) -> [String] { (0..<count).map { _ in universe.randomElement(using: &random)! } }
            let texts = draw(Int.random(in: 1...300, using: &random))
            let input = work.write("input.jsonl", Self.jsonl(texts, &random))

            // A cache state: empty, or filled from other texts, perhaps with bad rows.
            var corrupted: Set<String> = []
            if Bool.random(using: &random) {
                let earlier = work.write(
                    "earlier.jsonl", Self.jsonl(draw(Int.random(in: 1...200, using: &random)), &random))
                let filled = try Embcache.run(
                    [
                        "--model", Self.model, "--cache-dir", cache, "--command", fakeProvider("--dim \(Self.dim)"),
                        "--window", String(Int.random(in: 1...100, using: &random)), earlier.path,
                    ])
                try #require(filled.status == 0, "\(context): \(filled.stderrText)")
                if Bool.random(using: &random) {
                    corrupted = Set(
                        try CacheCheck.corrupt(
                            cache, file: "embedding-property-model.sqlite", dim: Self.dim,
                            share: Double.random(in: 0.05...0.5, using: &random), seed: random.next() >> 1))
                }
            }
            let before = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim, input: input)

            // Random flags; sometimes a second process writes other texts at the same time.
            let format = ["jsonl", "f32"].randomElement(using: &random)!
            let normalize = Bool.random(using: &random)
            var flags = [
                "--window", String(Int.random(in: 1...64, using: &random)),
                "--batch-size", String(Int.random(in: 1...16, using: &random)),
                "--max-requests", String(Int.random(in: 1...4, using: &random)),
                "--format", format,
            ]
            if Bool.random(using: &random) {
                flags += ["--batch-bytes", String(Int.random(in: 1...3000, using: &random))]
            }
            if !normalize { flags.append("--no-normalize") }
            let count = work.file("count")
            let arguments =
                [
                    "--model", Self.model, "--cache-dir", cache, "--command",
                    fakeProvider("--dim \(Self.dim) --count \(count.path)"),
                ]
                + flags
            let concurrent = Int.random(in: 0..<3, using: &random) == 0
            let trialContext = context + (concurrent ? " (with a concurrent writer)" : "")
            let other =
                concurrent
                ? try RunningProcess(
                    Embcache.binary,
                    ["--model", Self.model, "--cache-dir", cache, "--command", fakeProvider("--dim \(Self.dim)"), "-q"])
                : nil
            other?.feed(Data(Self.jsonl(draw(200), &random).utf8))
            let running = try RunningProcess(Embcache.binary, arguments + [input.path])
            let (result, hung) = running.finish(within: 120)
            if let other {
                let (otherResult, otherHung) = other.finish(within: 120)
                #expect(!otherHung && otherResult.status == 0, "\(trialContext): \(otherResult.stderrText)")
            }
            #expect(!hung, "\(trialContext)")
            #expect(result.status == 0, "\(trialContext) \(flags): \(result.stderrText)")
            let output = work.file("output")
            try result.stdout.write(to: output)
            let rows = try CacheCheck.rows(
                input: input, output: output, dim: Self.dim,
                ["--format", format] + (normalize ? [] : ["--no-normalize"]))
            #expect(rows.problems.isEmpty, "\(trialContext) \(flags): \(rows.problems)")
            #expect(rows.rows == texts.count, "\(trialContext)")
            rowsChecked += rows.rows

            // Exactly what the cache could not answer was computed, once
            // (a concurrent writer may have computed some of it first).
            let needed = Set(before.missing ?? []).union(corrupted.intersection(before.input_keys ?? []))
            let computed = countedKeys(count)
            #expect(computed.count == Set(computed).count, "\(trialContext): a text was computed twice")
            if concurrent {
                #expect(Set(computed).isSubset(of: needed), "\(trialContext): a cached text was computed again")
            } else {
                #expect(Set(computed) == needed, "\(trialContext): computed \(computed.count), needed \(needed.count)")
            }
            let after = try CacheCheck.cache(cache, model: Self.model, dim: Self.dim, input: input)
            #expect(after.missing == [], "\(trialContext)")
            // Bad rows of texts this run saw were replaced; others stay bad, and are the only problems left.
            // (The concurrent writer may have replaced some of the others.)
            let leftBad = corrupted.subtracting(before.input_keys ?? [])
            if concurrent {
                #expect(after.problems.count <= min(leftBad.count, 20), "\(trialContext): \(after.problems)")
            } else {
                #expect(after.problems.count == min(leftBad.count, 20), "\(trialContext): \(after.problems)")
            }
            trials += 1
        }
        #expect(trials >= 8, "seed \(seed): only \(trials) trials")
        print("WrongVectorPropertyTests: seed \(seed), \(trials) trials, \(rowsChecked) rows checked")
    }
}
