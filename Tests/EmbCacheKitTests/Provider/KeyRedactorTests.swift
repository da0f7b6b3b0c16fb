import Testing

@testable import EmbCacheCore
@testable import EmbCacheProviders

/// What a provider's error may quote of a key, and what of it is printed.
@Suite struct KeyRedactorTests {
    let key = #"sk-proj-"ab\cd/0123456789wxyz"#

    @Test func theWholeKeyAndEveryRunOfEightOfItGo() throws {
        let redactor = try #require(KeyRedactor(key: key))
        #expect(redactor.redact("key \(key) refused") == "key [redacted] refused")
        // OpenAI's own way of quoting a key: its start and end.
        #expect(redactor.redact("sk-proj-\"ab…6789wxyz") == "[redacted]…[redacted]")
        // Seven characters say nothing about the key and stay.
        #expect(redactor.redact("sk-proj and 789wxyz") == "sk-proj and 789wxyz")
        // Two runs side by side are one redaction.
        #expect(redactor.redact("sk-proj-\"a0123456789wxyz!") == "[redacted]!")
    }

    @Test func theKeyAsJSONEscapesItGoesToo() throws {
        let redactor = try #require(KeyRedactor(key: key))
        #expect(redactor.redact(#"{"message":"sk-proj-\"ab\\cd/0123456789wxyz"}"#) == #"{"message":"[redacted]"}"#)
        #expect(redactor.redact(#"{"message":"sk-proj-\"ab\\cd\/0123456789wxyz"}"#) == #"{"message":"[redacted]"}"#)
    }

    @Test func aShortKeyIsRedactedWholeAndATinyOneNotAtAll() throws {
        #expect(KeyRedactor(key: "abcdef")?.redact("x abcdef y abcde") == "x [redacted] y abcde")
        #expect(KeyRedactor(key: "abc") == nil)
        #expect(KeyRedactor(key: nil) == nil)
    }

    @Test func anErrorBodyIsOneShortLineOfPlainText() throws {
        let redactor = KeyRedactor(key: key)
        let body = Array(#"{"detail":[{"loc":["body","input"],"msg":"too\nlong","type":"value_error"}]}"#.utf8)
        let document = try JSONValue.parse(body)
        #expect(
            ErrorBody.text(body, document: document, message: document["detail"]!.jsonText, redactor: redactor)
                == #"[{"loc":["body","input"],"msg":"too\nlong","type":"value_error"}]"#)
        let html = Array(("<html>\n  <body>\n" + String(repeating: "x", count: 1000) + " \(key)</body>").utf8)
        let text = try #require(ErrorBody.text(html, document: nil, message: nil, redactor: redactor))
        #expect(text.hasPrefix("<html> <body> xxx"))
        #expect(text.unicodeScalars.count == ErrorBody.longest + 1)
        #expect(text.hasSuffix("x…"))
        // A key across the cut is redacted before the cut, not cut first.
        let across = Array((String(repeating: "y", count: ErrorBody.longest - 4) + key).utf8)
        let shortened = try #require(ErrorBody.text(across, document: nil, message: nil, redactor: redactor))
        #expect(!shortened.contains("sk-p"))
        #expect(shortened.unicodeScalars.count == ErrorBody.longest + 1)
    }
}
