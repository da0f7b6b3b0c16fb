import EmbCacheLocal
import Foundation
import Testing

/// Token ids of Fixtures/tokenizer-ids.jsonl were made once by Hugging
/// Face's `tokenizers` (what sentence-transformers runs) from the model's
/// own tokenizer.json, with Fixtures/make_tokenizer_ids.py: the seed
/// fixture's 30 texts and edge cases of BERT's basic tokenization.
/// Fixtures/bert-character-classes.txt, made the same way by
/// Fixtures/make_character_classes.py, says how `tokenizers` treats every
/// Unicode scalar between two letters.
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
        #expect(cases.count == 66)
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

    /// Every scalar, dropped, a break, set apart or kept as `tokenizers`
    /// does: its clean-up and punctuation follow the Unicode tables of its
    /// own release, not those of the running system.
    @Test func everyScalarIsClassedAsHuggingFaceTokenizersClassesIt() throws {
        let split = BertNormalizer(cleanText: true, splitChineseCharacters: true, stripAccents: false, lowercase: false)
        let whole = BertNormalizer(
            cleanText: true, splitChineseCharacters: false, stripAccents: false, lowercase: false)
        let a: Unicode.Scalar = "a"
        let table = try String(
            contentsOf: TestModel.fixtures.appendingPathComponent("bert-character-classes.txt"), encoding: .utf8)
        var checked = 0
        var wrong: [String] = []
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            let first = UInt32(fields[0], radix: 16)!
            let last = UInt32(fields[1], radix: 16)!
            // Kept runs (most of the code space) one scalar in 16 and
            // their ends; every scalar of the others.
            let step = fields[2] == "K" ? 16 : 1
            for value in Set(Array(stride(from: first, through: last, by: step)) + [last]) {
                let c = Unicode.Scalar(value)!
                let text = String(String.UnicodeScalarView([a, c, a]))
                let kind: String
                switch (split.words(text), whole.words(text)) {
                case ([[a, a]], _): kind = "D"
                case ([[a], [a]], _): kind = "W"
                case ([[a], [c], [a]], [[a, c, a]]): kind = "C"
                case ([[a], [c], [a]], [[a], [c], [a]]): kind = "P"
                case ([[a, c, a]], _): kind = "K"
                default: kind = "?"
                }
                if kind != fields[2], wrong.count < 20 { wrong.append("U+\(fields[0]) \(kind) not \(fields[2])") }
                checked += 1
            }
        }
        #expect(checked > 70_000)
        #expect(wrong.isEmpty, "\(wrong)")
    }
}
