import Foundation
import Testing

@testable import EmbCacheCore

@Suite struct JSONScannerTests {
    func scan(_ text: String, path: [String] = ["text"], output: String? = "embedding") throws(JSONScanner.Failure)
        -> JSONScanner.Result
    {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(JSONScanner.Failure) in
            try JSONScanner.scan(
                buffer, paths: [path.map { Array($0.utf8) }], outputField: output.map { Array($0.utf8) })
        }
    }

    func message(_ text: String) -> String? {
        do {
            _ = try scan(text)
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: [
        #"{}"#, #"{"text":"a"}"#, #" { "a" : [ 1 , -0.5e+10 , true , false , null , { } , [ ] ] } "#,
        #"{"n":0}"#, #"{"n":-0}"#, #"{"n":1E9}"#, #"{"n":1e999999}"#, #"{"n":123456789012345678901234567890}"#,
        #"{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude80"}"#, "{\"s\":\"é\u{1F680}\"}", #"[1,2]"#, #""just a string""#, "7",
    ])
    func validDocumentsAreAccepted(_ text: String) {
        #expect(message(text) == nil, "\(text)")
    }

    @Test(arguments: [
        (#"{"#, "unexpected end of line at column 2"),
        (#"{"a":1,}"#, "unexpected character '}' at column 8"),
        (#"{"a" 1}"#, "unexpected character '1' at column 6"),
        (#"{a:1}"#, "unexpected character 'a' at column 2"),
        (#"{"a":01}"#, "unexpected character '1' at column 7"),
        (#"{"a":1.}"#, "unexpected character '}' at column 8"),
        (#"{"a":.5}"#, "unexpected character '.' at column 6"),
        (#"{"a":1e}"#, "unexpected character '}' at column 8"),
        (#"{"a":+1}"#, "unexpected character '+' at column 6"),
        (#"{"a":NaN}"#, "unexpected character 'N' at column 6"),
        (#"{"a":tru}"#, "unexpected character 't' at column 6"),
        (#"{"a":"x\q"}"#, "invalid escape at column 8"),
        (#"{"a":"\u12"}"#, "invalid escape at column 7"),
        (#"{"a":"\ud800"}"#, "unpaired surrogate escape at column 7"),
        (#"{"a":"\udc00\ud800"}"#, "unpaired surrogate escape at column 7"),
        (#"{"a":"\ud800\u0041"}"#, "unpaired surrogate escape at column 7"),
        ("{\"a\":\"tab\there\"}", "control character in a string at column 10"),
        ("{\"a\":\"nul\u{0}\"}", "control character in a string at column 10"),
        (#"{"a":"open}"#, "unterminated string at column 12"),
        (#"{} {}"#, "unexpected character '{' at column 4"),
        (#"{}x"#, "unexpected character 'x' at column 3"),
        ("", "unexpected end of line at column 1"),
    ])
    func invalidDocumentsSayWhatAndWhere(_ text: String, _ expected: String) {
        #expect(message(text) == expected, "\(text)")
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(message("{\"a\":" + deep + "}") == "nested deeper than 512 levels at column 517")
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(message("{\"a\":" + fine + "}") == nil)
    }

    @Test func textPathFindsStringsAndNamesOtherTypes() throws {
        #expect(try scan(#"{"text":"a\nb"}"#).found[0] == .string("a\nb"))
        #expect(try scan(#"{"x":{"text":"no"},"text":"yes"}"#).found[0] == .string("yes"))
        #expect(try scan(#"{"d":{"t":"deep"}}"#, path: ["d", "t"]).found[0] == .string("deep"))
        #expect(try scan(#"{"d":[{"t":"no"}]}"#, path: ["d", "t"]).found[0] == nil)
        #expect(try scan(#"{"text":[]}"#).found[0] == .numbers([]))
        #expect(try scan(#"{"te\u0078t":"escaped key"}"#).found[0] == .string("escaped key"))
        #expect(try scan(#"{"text":"first","text":"last"}"#).found[0] == .string("last"))
    }

    /// A text with escapes is decoded straight into its String, in the
    /// room its escaped form takes (issue 15, item 5); escapes shrink it
    /// by up to two thirds.
    @Test func escapedTextsDecodeInPlace() throws {
        let escaped = #"a\u00e9\ud83d\ude80\n\"\\\/\u0041"#
        let decoded = "a\u{E9}\u{1F680}\n\"\\/A"
        #expect(try scan(#"{"text":""# + escaped + #""}"#).found[0] == .string(decoded))
        let many = String(repeating: escaped, count: 10_000)
        #expect(try scan(#"{"text":""# + many + #""}"#).found[0] == .string(String(repeating: decoded, count: 10_000)))
        #expect(try scan(#"{"text":"\u65e5\u672c"}"#).found[0] == .string("日本"))
        #expect(try scan(#"{"text":"\\"}"#).found[0] == .string("\\"))
    }

    @Test func shapeAndOutputFieldAreReported() throws {
        #expect(try scan("{}").isEmptyObject)
        #expect(try !scan(#"{"a":1}"#).isEmptyObject)
        #expect(try !scan("[]").isObject)
        #expect(try scan(#"{"embedding":null}"#).hasOutputField)
        #expect(try !scan(#"{"x":{"embedding":null}}"#).hasOutputField)
    }

    /// Differential: whatever Foundation serialises, the scanner accepts,
    /// and it finds the same text Foundation would read back.
    @Test func agreesWithFoundationOnRandomDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = [
            "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "日", "🚀", "\u{7F}", "\u{2028}",
        ]
        for _ in 0..<500 {
            let text = String(
                (0..<Int.random(in: 1...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let document: [String: Any] = [
                "id": Int.random(in: -1_000_000...1_000_000, using: &generator),
                "text": text,
                "meta": [
                    "score": Double.random(in: -1e300...1e300, using: &generator), "tags": [text, true, NSNull()],
                ],
            ]
            let data = try JSONSerialization.data(withJSONObject: document)
            let found = try scan(String(decoding: data, as: UTF8.self)).found[0]
            #expect(found == .string(text))
        }
    }
}

@Suite struct JSONScannerVectorTests {
    func found(_ text: String, _ path: String) throws -> JSONScanner.Found? {
        let bytes = Array(text.utf8)
        let paths = [["text"], path.split(separator: ".").map(String.init)].map { $0.map { Array($0.utf8) } }
        return try bytes.withUnsafeBufferPointer { try JSONScanner.scan($0, paths: paths, outputField: nil) }.found[1]
    }

    @Test func arraysOfNumbersAreCollectedAsExactFloat32() throws {
        #expect(
            try found(#"{"text":"t","v":[1,-0.5,2.5e-3,0.031023262068629265]}"#, "v")
                == .numbers([1, -0.5, 0.0025, Float(0.031023262068629265 as Double)]))
        let values: [Float] = [0.1, -Float.leastNonzeroMagnitude, 3.4028235e38, 1.1754944e-38, -0.034477279]
        let text = "{\"v\":[" + values.map(\.description).joined(separator: ",") + "]}"
        #expect(try found(text, "v") == .numbers(values))
    }

    @Test func otherShapesAreNamed() throws {
        #expect(try found(#"{"v":[1,"2"]}"#, "v") == .other("an array"))
        #expect(try found(#"{"v":"AAAA"}"#, "v") == .string("AAAA"))
        #expect(try found(#"{"v":{"x":[1]}}"#, "v.x") == .numbers([1]))
        #expect(try found(#"{"v":null}"#, "v") == .other("null"))
        #expect(try found(#"{"w":[1]}"#, "v") == nil)
    }
}
