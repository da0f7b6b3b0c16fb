import EmbCacheLocal
import Foundation
import Testing

/// Token ids of Fixtures/tokenizer-ids.jsonl were made once by Hugging
/// Face's `tokenizers` (what sentence-transformers runs) from the model's
/// own tokenizer.json, with Fixtures/make_tokenizer_ids.py: the seed
/// fixture's 30 texts and edge cases of BERT's basic tokenization.
@Suite struct BertTokenizerTests {
    struct Case: Decodable {
        var text: String
        var ids: [Int32]
    }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: TestModel.fixtures.appendingPathComponent("tokenizer-ids.jsonl"))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Case.self, from: Data($0)) }
    }

    func check(_ tokenizer: BertTokenizer) throws {
        let cases = try Self.cases()
        #expect(cases.count == 61)
        for item in cases {
            let ids = tokenizer.encode(item.text, maxLength: 256)
            #expect(ids == item.ids, "text: \(item.text.debugDescription)")
        }
    }

    @Test func tokenizerJSONGivesTheIdsOfHuggingFaceTokenizers() throws {
        try check(BertTokenizer.load(directory: TestModel.require()))
    }

    @Test func vocabularyFileGivesTheSameIds() throws {
        let model = try TestModel.require()
        let copy = try TestModel.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: copy) }
        for file in ["vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(
                atPath: model + "/" + file, toPath: copy.appendingPathComponent(file).path)
        }
        try check(BertTokenizer.load(directory: copy.path))
    }

    @Test func truncationKeepsTheSeparator() throws {
        let tokenizer = try BertTokenizer.load(directory: TestModel.require())
        let ids = tokenizer.encode(String(repeating: "word ", count: 50), maxLength: 8)
        #expect(ids == [101, 2773, 2773, 2773, 2773, 2773, 2773, 102])
    }
}
