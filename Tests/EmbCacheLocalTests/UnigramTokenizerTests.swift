import EmbCacheLocal
import Foundation
import Testing

/// Fixtures/unigram/tokenizer.json is a SentencePiece unigram model
/// trained on text made by Fixtures/make_unigram_tokenizer.py and converted
/// by transformers' XLM-R fast tokenizer, so it has a real Precompiled
/// normaliser (SentencePiece's NFKC charsmap); unigram-bytes/ is the same
/// trained with byte pieces and asking for byte fallback.
/// Fixtures/unigram-ids.jsonl holds the ids Hugging Face `tokenizers` gave
/// for hard texts with both, truncated at 64 tokens.
@Suite struct UnigramTokenizerTests {
    struct Case: Decodable {
        var tokenizer: String
        var text: String
        var ids: [Int32]
    }

    static let maxLength = 64

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: TestModel.fixtures.appendingPathComponent("unigram-ids.jsonl"))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Case.self, from: Data($0)) }
    }

    func check(_ name: String) throws {
        let tokenizer = try UnigramTokenizer.load(directory: TestModel.fixtures.appendingPathComponent(name).path)
        let cases = try Self.cases().filter { $0.tokenizer == name }
        #expect(cases.count == 85)
        for item in cases {
            let ids = tokenizer.encode(item.text, maxLength: Self.maxLength)
            #expect(ids == item.ids, "text: \(item.text.debugDescription)")
        }
    }

    @Test func unigramGivesTheIdsOfHuggingFaceTokenizers() throws {
        try check("unigram")
    }

    @Test func byteFallbackGivesTheIdsOfHuggingFaceTokenizers() throws {
        try check("unigram-bytes")
    }

    /// The loader of model directories takes a Unigram tokenizer.json.
    @Test func modelDirectoryLoaderReadsUnigram() throws {
        let tokenizer = try LocalTokenizer.load(directory: TestModel.fixtures.appendingPathComponent("unigram").path)
        guard case .unigram = tokenizer else {
            Issue.record("not read as a Unigram tokenizer")
            return
        }
        let expected = try Self.cases().first { $0.tokenizer == "unigram" && $0.text == "hello world" }
        #expect(tokenizer.encode("hello world", maxLength: Self.maxLength) == expected?.ids)
    }
}
