import Crypto
import Foundation
import Testing

@testable import EmbCacheKit

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

    @Test func modelNamesMapToDimensions() {
        #expect(HashEmbedder.dimension(forModel: "hash-256") == 256)
        #expect(HashEmbedder.dimension(forModel: "hash-1") == 1)
        for name in ["hash-0", "hash-65537", "hash-", "hash-08", "hash-+8", "hash-256x", "Hash-256", "hash256"] {
            #expect(HashEmbedder.dimension(forModel: name) == nil, "\(name)")
        }
    }
}
