import Foundation
import Testing

@testable import EmbCacheCore

@Suite struct CacheKeyTests {
    @Test func keyIsTheSHA512OfTheUTF8Bytes() {
        // From the seed fixture's expected.jsonl, written by the Python package.
        #expect(
            CacheKey(text: "hello world").hex
                == "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"
        )
    }

    @Test func canonicallyEquivalentTextsInOtherFormsGetOtherKeys() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed, "Swift compares strings canonically")
        #expect(CacheKey(text: composed) != CacheKey(text: decomposed))
    }

    @Test func keysRoundTripThroughTheirBytes() {
        let key = CacheKey(text: "round trip")
        let copy = key.withUnsafeBytes { CacheKey(bytes: $0) }
        #expect(copy == key)
        #expect(copy?.hashValue == key.hashValue)
        let short = [UInt8](repeating: 1, count: 63).withUnsafeBytes { CacheKey(bytes: $0) }
        #expect(short == nil)
    }

    @Test func keysSortAsTheirBytesDo() {
        let keys = (0..<500).map { CacheKey(text: "text \($0)") }
        #expect(keys.sorted().map(\.hex) == keys.map(\.hex).sorted())
        // Keys that differ only in their last byte: equality and order look
        // at every byte, not just the ones that are hashed.
        var bytes = [UInt8](repeating: 7, count: CacheKey.byteCount)
        let low = bytes.withUnsafeBytes { CacheKey(bytes: $0)! }
        bytes[CacheKey.byteCount - 1] = 8
        let high = bytes.withUnsafeBytes { CacheKey(bytes: $0)! }
        #expect(low != high)
        #expect(low < high && !(high < low) && !(low < low))
        #expect(Set([low, high, low]).count == 2)
    }
}
