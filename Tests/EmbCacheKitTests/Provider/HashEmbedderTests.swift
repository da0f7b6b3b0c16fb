import Crypto
import Foundation
import Testing

@testable import EmbCacheProviders

@Suite struct HashEmbedderTests {
    /// Pinned: these vectors are in users' caches under `hash-<d>`; a change
    /// here is a format change.
    @Test func fixedVectorsArePinned() {
        let vector = HashEmbedder(dimension: 8).vector(for: "hello world")
        #expect(vector == [0.0, 0.0, 0.0, 0.5163978, 0.0, 0.2581989, 0.7745967, 0.2581989])
        let unicode = HashEmbedder(dimension: 384).vector(for: "Crème brûlée, naïve café — 日本語のテキスト 🚀")
        let digest = unicode.withUnsafeBytes { SHA256.hash(data: $0) }
        #expect(
            digest.map { String(format: "%02x", $0) }.joined()
                == "f7c12575898d46b0272b7dea62153b7bdb5f75859f44b9e8ca2b0989259044a3")
    }

    @Test func vectorsHaveUnitLengthAndTheModelsDimension() {
        for d in [1, 2, 17, 256, 768] {
            let vector = HashEmbedder(dimension: d).vector(for: "The quick brown fox")
            #expect(vector.count == d)
            let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    @Test func onlyASCIILettersAreCaseFolded() {
        let embedder = HashEmbedder(dimension: 64)
        #expect(embedder.vector(for: "Hello World") == embedder.vector(for: "hello world"))
        #expect(embedder.vector(for: "ÉCOLE") != embedder.vector(for: "école"))
    }

    @Test func punctuationOnlyTextsStillGetAVector() {
        let vector = HashEmbedder(dimension: 16).vector(for: "!!!")
        #expect(vector.allSatisfy { $0.isFinite })
        #expect(vector.contains { $0 != 0 })
    }

    /// The embedder reads the text in one pass, holding no array as long
    /// as the text (issue 15, item 5: a 50 MB text took 1 GB); it gives
    /// the vectors of the plain definition, kept here, bit for bit.
    @Test func theOnePassEmbedderMatchesThePlainDefinition() {
        var texts = [
            "", " ", "a", "ab", "abc", "hello world", "Hello, World!", "  two  spaces  ", "ÉCOLE école", "日本語",
            "🚀x🚀", "a\u{0301}", "tab\tand\nnewline", "x y", "123 abc 4d5",
        ]
        var state: UInt64 = 42
        let pieces = ["the", " ", "Fox", "é", "日本", "🚀", ",", "42", "  ", "x", "\n", "ß"]
        for _ in 0..<200 {
            var text = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for _ in 0..<Int(state >> 58) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int(state >> 33) % pieces.count]
            }
            texts.append(text)
        }
        for d in [1, 7, 64, 384] {
            let embedder = HashEmbedder(dimension: d)
            for text in texts {
                #expect(
                    embedder.vector(for: text) == Self.definition(text, dimension: d), "\(d): \(text.debugDescription)")
            }
        }
    }

    /// The definition as first written: arrays of the text, its words and
    /// its character starts.
    static func definition(_ text: String, dimension width: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: width)
        var bytes = [UInt8](text.utf8)
        for i in bytes.indices where (0x41...0x5A).contains(bytes[i]) { bytes[i] |= 0x20 }
        func fnv(_ prefix: String, _ parts: [UInt8]...) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in Array(prefix.utf8) + parts.joined() {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            return hash
        }
        func add(_ hash: UInt64, _ weight: Double) {
            var z = hash
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z = z ^ (z >> 31)
            sums[Int(z % UInt64(width))] += (z >> 63) == 0 ? weight : -weight
        }
        func isWord(_ byte: UInt8) -> Bool {
            byte >= 0x80 || (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte)
        }
        var words: [ArraySlice<UInt8>] = []
        var start: Int?
        for i in 0...bytes.count {
            let word = i < bytes.count && isWord(bytes[i])
            if word, start == nil { start = i }
            if !word, let s = start {
                words.append(bytes[s..<i])
                start = nil
            }
        }
        for word in words { add(fnv("w:", Array(word)), 1) }
        for (first, second) in zip(words, words.dropFirst()) { add(fnv("b:", Array(first), [0x20], Array(second)), 1) }
        let padded = [0x20] + bytes + [0x20]
        let starts = padded.indices.filter { padded[$0] & 0xC0 != 0x80 }
        if starts.count >= 3 {
            for i in 0..<(starts.count - 2) {
                let end = i + 3 < starts.count ? starts[i + 3] : padded.count
                add(fnv("c:", Array(padded[starts[i]..<end])), 0.5)
            }
        }
        let norm = sums.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return [1] + [Float](repeating: 0, count: width - 1) }
        return sums.map { Float($0 / norm) }
    }

    @Test func modelNamesMapToDimensions() {
        #expect(HashEmbedder.dimension(forModel: "hash-256") == 256)
        #expect(HashEmbedder.dimension(forModel: "hash-1") == 1)
        for name in ["hash-0", "hash-65537", "hash-", "hash-08", "hash-+8", "hash-256x", "Hash-256", "hash256"] {
            #expect(HashEmbedder.dimension(forModel: name) == nil, "\(name)")
        }
    }
}
