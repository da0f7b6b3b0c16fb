import Foundation
import Testing

@testable import EmbCacheCore

@Suite struct JSONLinesWriterTests {
    /// What a writer puts in a file for these rows.
    static func written(_ rows: [OutputRow], linesInput: Bool, encoding: JSONLinesWriter.Encoding) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "jsonlines-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        let writer = JSONLinesWriter(
            sink: ByteSink(fd: fd, name: path), field: "embedding", encoding: encoding, normalize: false,
            linesInput: linesInput)
        try writer.write(rows)
        try writer.finish(dimension: nil)
        close(fd)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Rows over a megabyte are written from their own bytes, in pieces,
    /// between the rows around them; the bytes are those of the plain
    /// encoding.
    @Test(arguments: [false, true], [JSONLinesWriter.Encoding.numbers, .base64])
    func largeRowsAreWrittenInPlaceAsSmallOnesAre(linesInput: Bool, encoding: JSONLinesWriter.Encoding) throws {
        // Quotes, backslashes and newlines fall on the pieces' edges too.
        let unit = "ab\"c\\d\né 🚀 "
        let long = String(repeating: unit, count: (3 << 20) / unit.utf8.count + 7)
        var longRecord: [UInt8] = Array(#"{"id":2,"text":""#.utf8)
        appendJSONStringContents(long.utf8, to: &longRecord)
        longRecord.append(contentsOf: Array("\"}".utf8))
        let rows = [
            OutputRow(bytes: Array(#"{"id":1,"text":"x"}"#.utf8), isEmptyObject: false, text: "x", vector: [1, 2]),
            OutputRow(bytes: longRecord, isEmptyObject: false, text: long, vector: [0.5, -0.25]),
            OutputRow(bytes: Array("{}".utf8), isEmptyObject: true, text: "y", vector: nil),
            OutputRow(bytes: longRecord, isEmptyObject: false, text: long, vector: [3, 4]),
        ]
        let encoder = JSONRecordEncoder(
            fieldPrefix: Array(#""embedding":"#.utf8), encoding: encoding, normalize: false, linesInput: linesInput)
        #expect(rows.map(encoder.isLarge) == [false, true, false, true])
        var expected: [UInt8] = []
        for row in rows { encoder.encode(row, into: &expected) }
        let output = try Self.written(rows, linesInput: linesInput, encoding: encoding)
        #expect(output.count == expected.count)
        #expect(output == expected)
    }

    /// A long text without escapes is cut out of its record's bytes, so
    /// the line is not held twice (issue 15, item 5); the output puts it
    /// back where it stood, small or large row, whatever follows it.
    @Test(arguments: [100 << 10, 3 << 20])
    func aTextCutOutOfItsRecordIsPutBack(size: Int) throws {
        let text = String(repeating: "word ", count: size / 5)
        let lines = [
            #"{"id":1,"text":""# + text + #"","more":{"a":[1,"}"]}}  "#,
            #"{"text":""# + text + #""}"#,
            #"{"id":3,"text":"short"}"#,
            #"{"id":4,"text":"esc\"aped "# + text + #""}"#,
        ]
        let decoder = RecordDecoder(mode: .jsonl, textField: "text", outputField: "embedding", maxLineBytes: 8 << 20)
        var rows: [OutputRow] = []
        var expected: [UInt8] = []
        for (number, line) in lines.enumerated() {
            let record = decoder.decode(
                Line(location: SourceLocation(source: "t", line: number + 1), bytes: Array(line.utf8), tooLong: false))
            let content = try record.content.get()
            #expect((record.textOffset != nil) == (number < 2), "line \(number + 1)")
            if record.textOffset != nil { #expect(record.bytes.count == line.utf8.count - text.utf8.count) }
            rows.append(
                OutputRow(
                    bytes: record.bytes, isEmptyObject: false, text: content.text, vector: [1, 0],
                    textOffset: record.textOffset))
            let close = line.utf8.lastIndex(of: UInt8(ascii: "}"))!
            expected += Array(line.utf8[..<close]) + Array(#","embedding":[1.0,0.0]"#.utf8)
            expected += Array(line.utf8[close...]) + [0x0A]
        }
        #expect(try Self.written(rows, linesInput: false, encoding: .numbers) == expected)
    }
}
