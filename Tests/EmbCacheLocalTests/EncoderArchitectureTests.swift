import Foundation
import Testing

@testable import EmbCacheLocal

/// Where XLM-RoBERTa's and MPNet's tokens take their positions, and MPNet's
/// relative position buckets against HF transformers' own
/// (Fixtures/mpnet-buckets.json, made by
/// Tests/EndToEndTests/Fixtures/encoders/make_encoder_models.py).
@Suite struct EncoderArchitectureTests {
    @Test func relativePositionBucketsAreThoseOfTransformers() throws {
        let data = try Data(contentsOf: TestModel.fixtures.appendingPathComponent("mpnet-buckets.json"))
        let table = try JSONSerialization.jsonObject(with: data) as! [String: [Int]]
        let relative = table["relative"]!
        let buckets = table["bucket"]!
        #expect(relative.count == 1201 && buckets.count == relative.count)
        // Every bucket but 16: "after the query" with a distance of 0.
        #expect(Set(buckets) == Set(0..<32).subtracting([16]))
        for (position, bucket) in zip(relative, buckets) {
            #expect(RelativePositionBuckets.bucket(position) == bucket, "relative position \(position)")
        }
    }

    static func config(_ architecture: EncoderArchitecture, padding: Int?) -> BertConfig {
        var config = BertConfig(
            hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 8, maxPositions: 10, vocabularySize: 20,
            typeVocabularySize: 1, layerNormEpsilon: 1e-5)
        config.architecture = architecture
        config.paddingIndex = padding
        return config
    }

    @Test func bertCountsPositionsFromZero() {
        let config = Self.config(.bert, padding: nil)
        #expect(config.positions(of: [0, 7, 1, 7, 2]) == [0, 1, 2, 3, 4])
        #expect(config.longestSequence == 10)
    }

    /// As fairseq's make_positions: from the padding index + 1; a padding
    /// id written in the text takes the padding row and is not counted.
    @Test func robertaPositionsStartPastThePaddingIndexAndSkipPadding() {
        let config = Self.config(.xlmRoberta, padding: 1)
        #expect(config.positions(of: [0, 7, 8, 2]) == [2, 3, 4, 5])
        #expect(config.positions(of: [0, 7, 1, 1, 8, 2]) == [2, 3, 1, 1, 4, 5])
        #expect(config.longestSequence == 8)
    }

    /// The bias table holds, per head, the bias of each relative position
    /// of the longest sequence, left (key before the query) to right.
    @Test func biasTableFollowsTheBuckets() {
        let heads = 2
        let bias = FloatBuffer(count: 32 * heads)
        for bucket in 0..<32 {
            for head in 0..<heads { bias.pointer[bucket * heads + head] = Float(bucket * 10 + head) }
        }
        let longest = 40
        let table = RelativePositionBuckets.table(bias: bias, heads: heads, longest: longest)
        let width = 2 * longest - 1
        #expect(table.count == heads * width)
        for relative in -(longest - 1)...(longest - 1) {
            for head in 0..<heads {
                let want = Float(RelativePositionBuckets.bucket(relative) * 10 + head)
                #expect(table[head * width + relative + longest - 1] == want)
            }
        }
    }
}
