import Foundation

/// Text cut around the added tokens written in it (`<s>`, `[MASK]` …):
/// found in the raw text, leftmost first, the longest where several start
/// at one place, and kept whole, as the `tokenizers` library does. A token
/// with `lstrip` (`rstrip`) takes the whitespace before (after) it too.
struct AddedTokens: Sendable {
    struct Token: Sendable {
        var bytes: [UInt8]
        var id: Int32
        var lstrip = false
        var rstrip = false
    }

    enum Segment {
        case text(String)
        case special(Int32)
    }

    let tokens: [Token]

    init(_ tokens: [Token]) {
        self.tokens = tokens.filter { !$0.bytes.isEmpty }
            .sorted {
                $0.bytes.count != $1.bytes.count
                    ? $0.bytes.count > $1.bytes.count : $0.bytes.lexicographicallyPrecedes($1.bytes)
            }
    }

    /// Added tokens of a `tokenizer.json`; those matched after
    /// normalisation would need the normaliser's offsets, and are refused.
    static func read(_ fields: JSONFields) throws -> AddedTokens {
        let (raw, normalized) = try readBoth(fields)
        if let token = normalized.first {
            throw fields.place(
                "unsupported added token \"\(String(decoding: token.bytes, as: UTF8.self))\" matched after normalisation"
            )
        }
        return raw
    }

    /// Added tokens of a `tokenizer.json`: those found in the raw text, and
    /// those (`"normalized": true`) found in the normalised text, as
    /// all-mpnet-base-v2's `<unk>`.
    static func readBoth(_ fields: JSONFields) throws -> (raw: AddedTokens, normalized: [Token]) {
        var tokens: [Token] = []
        var normalized: [Token] = []
        for token in fields.object["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = token["content"] as? String, let id = (token["id"] as? NSNumber)?.int32Value else {
                throw fields.place("an added token has no content or id")
            }
            let entry = Token(
                bytes: Array(content.utf8), id: id, lstrip: (token["lstrip"] as? Bool) ?? false,
                rstrip: (token["rstrip"] as? Bool) ?? false)
            if (token["normalized"] as? Bool) == true {
                guard !entry.lstrip && !entry.rstrip else {
                    throw fields.place(
                        "unsupported added token \"\(content)\" matched after normalisation with lstrip or rstrip")
                }
                normalized.append(entry)
            } else {
                tokens.append(entry)
            }
        }
        return (AddedTokens(tokens), normalized)
    }

    func split(_ text: String) -> [Segment] {
        guard !tokens.isEmpty else { return [.text(text)] }
        let bytes = Array(text.utf8)
        var segments: [Segment] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            let match = tokens.first { token in
                index + token.bytes.count <= bytes.count
                    && bytes[index..<(index + token.bytes.count)].elementsEqual(token.bytes)
            }
            guard let match else {
                index += 1
                continue
            }
            // Added tokens are whole UTF-8 sequences, so every cut falls
            // between characters.
            var before = String(decoding: bytes[start..<index], as: UTF8.self)
            if match.lstrip {
                while let last = before.unicodeScalars.last, last.properties.isWhitespace {
                    before.unicodeScalars.removeLast()
                }
            }
            if !before.isEmpty { segments.append(.text(before)) }
            segments.append(.special(match.id))
            index += match.bytes.count
            if match.rstrip {
                while index < bytes.count {
                    let rest = String(decoding: bytes[index..<min(index + 4, bytes.count)], as: UTF8.self)
                    guard let first = rest.unicodeScalars.first, first.properties.isWhitespace else { break }
                    index += String(first).utf8.count
                }
            }
            start = index
        }
        if start < bytes.count { segments.append(.text(String(decoding: bytes[start...], as: UTF8.self))) }
        return segments
    }
}
