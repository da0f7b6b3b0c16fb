import Foundation
import Testing

@testable import EmbCacheCore

@Suite struct RecordDecoderTests {
    func decode(_ text: String, field: String = "text", mode: InputMode = .jsonl) -> Record {
        RecordDecoder(mode: mode, textField: field, outputField: "embedding", maxLineBytes: 100)
            .decode(Line(location: SourceLocation(source: "t", line: 1), bytes: Array(text.utf8), tooLong: false))
    }

    func problem(_ record: Record) -> InputProblem? {
        if case .failure(let problem) = record.content { return problem }
        return nil
    }

    @Test func escapesAreDecodedBeforeHashing() throws {
        let record = decode(#"{"text": "caf\u00e9 \ud83d\ude80"}"#)
        let content = try record.content.get()
        #expect(content.text == "café 🚀")
        #expect(content.key == CacheKey(text: "café 🚀"))
        #expect(record.object == .nonEmpty)
    }

    @Test func dottedPathsFollowNestedObjects() throws {
        #expect(try decode(#"{"a": {"b": {"c": "deep"}}}"#, field: "a.b.c").content.get().text == "deep")
        #expect(problem(decode(#"{"a": {"b": "flat"}}"#, field: "a.b.c")) == .missingField("a.b.c"))
        #expect(problem(decode(#"{"a": ["x"]}"#, field: "a.0")) == .missingField("a.0"))
    }

    @Test func typesOtherThanStringAreNamed() {
        #expect(problem(decode(#"{"text": true}"#)) == .fieldNotString("text", found: "a boolean"))
        #expect(problem(decode(#"{"text": 1.5}"#)) == .fieldNotString("text", found: "a number"))
        #expect(problem(decode(#"{"text": [1]}"#)) == .fieldNotString("text", found: "an array"))
        #expect(problem(decode(#"{"text": {}}"#)) == .fieldNotString("text", found: "an object"))
        #expect(problem(decode(#"{"text": null}"#)) == .fieldNotString("text", found: "null"))
    }

    @Test func invalidUTF8NamesItsByte() {
        let record = RecordDecoder(mode: .jsonl, textField: "text", outputField: nil, maxLineBytes: 100).decode(
            Line(
                location: SourceLocation(source: "t", line: 1),
                bytes: Array("{\"text\":\"é".utf8) + [0xE9, 0x22, 0x7D], tooLong: false))
        #expect(problem(record) == .invalidUTF8(byteOffset: 11))
    }

    @Test func linesModeTakesTheWholeLineAsText() throws {
        let record = decode(#"{"not": "json to me"}"#, mode: .lines)
        #expect(try record.content.get().text == #"{"not": "json to me"}"#)
    }

    @Test func emptyObjectsAreRecognised() {
        #expect(decode("{}", field: "t").object == .empty)
        #expect(decode("[1]").object == .notExtensible)
        #expect(decode("{\"text\": \"\"}").object == .nonEmpty)
    }
}
