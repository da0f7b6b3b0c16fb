import Foundation

@testable import EmbCacheKit

/// libFuzzer's entry point: one input line, decoded as embcache decodes
/// records. A crash, a sanitizer report or a trap below is a finding.
///
/// Traps when a record is accepted with a text that is empty, not the
/// string JSON says (checked against Foundation's JSONSerialization where
/// both accept the line), or keyed by anything but the SHA-512 of its
/// bytes; and when `--input lines` does not take a valid line whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let line = Line(location: SourceLocation(source: "fuzz", line: 1), bytes: bytes, tooLong: false)

    let record = jsonl.decode(line)
    if case .success(let content) = record.content {
        precondition(!content.text.isEmpty, "an empty text was accepted")
        precondition(content.key == CacheKey(text: content.text), "a key is not the SHA-512 of its text")
        precondition(String(validating: bytes, as: UTF8.self) != nil, "a record of invalid UTF-8 was accepted")
        precondition(record.object != .notExtensible, "an accepted record is not an object")
        // Where Foundation reads the same line, it must read the same text.
        if let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let text = object["text"] as? String
        {
            // Foundation on Linux drops a U+FEFF that starts a string value
            // or follows an escape in it; embcache keeps every byte (else
            // another key), so the two are compared without U+FEFF.
            let ours = content.text.unicodeScalars.filter { $0 != "\u{FEFF}" }
            let theirs = text.unicodeScalars.filter { $0 != "\u{FEFF}" }
            precondition(ours.elementsEqual(theirs), "the text differs from JSONSerialization's")
        }
    } else if let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
        let text = object["text"] as? String, !text.isEmpty, object["embedding"] == nil
    {
        // Foundation accepts what the scanner refused: not always a bug
        // (Foundation is laxer in places), so reported, not trapped.
        reportDivergence(bytes, record)
    }

    let plain = lines.decode(line)
    switch (plain.content, String(validating: bytes, as: UTF8.self)) {
    case (.success(let content), let valid?):
        precondition(Array(content.text.utf8) == Array(valid.utf8), "a line was not taken whole")
    case (.failure, nil): break
    case (.failure(let problem), _?):
        precondition(bytes.isEmpty || problem == .lineTooLong(limit: 1 << 20), "a valid line was refused: \(problem)")
    case (.success, nil): preconditionFailure("a line of invalid UTF-8 was accepted")
    }
    return 0
}

private let jsonl = RecordDecoder(mode: .jsonl, textField: "text", outputField: "embedding", maxLineBytes: 1 << 20)
private let lines = RecordDecoder(mode: .lines, textField: "text", outputField: nil, maxLineBytes: 1 << 20)
nonisolated(unsafe) private var divergences = 0

private func reportDivergence(_ bytes: [UInt8], _ record: Record) {
    divergences += 1
    guard divergences <= 20 else { return }
    let shown = bytes.prefix(200).map {
        $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0)
    }
    var problem = ""
    if case .failure(let why) = record.content { problem = "\(why)" }
    FileHandle.standardError.write(
        Data("divergence: JSONSerialization accepts, embcache says \(problem): \(shown.joined())\n".utf8))
}
