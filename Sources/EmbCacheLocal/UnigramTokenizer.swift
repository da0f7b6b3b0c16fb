import EmbCacheCore
import Foundation

/// Text to token ids as an XLM-R style SentencePiece tokenizer does, read
/// from `tokenizer.json`: added tokens cut out of the raw text, the
/// normaliser (`Precompiled`, the charsmap, with `Replace` and `Strip`),
/// the `Metaspace` pre-tokenizer (after `WhitespaceSplit` when the file
/// has it), the unigram model, then `<s> … </s>` within the length limit.
public struct UnigramTokenizer: Sendable {
    enum Normalization: Sendable {
        case charsmap(PrecompiledCharsmap)
        case replace(String, String)
        /// A regex replacement `tokenizers` writes: runs of 2 or more
        /// spaces.
        case spaceRuns(String)
        case strip(left: Bool, right: Bool)
    }

    enum Prepend: String, Sendable {
        case always, first, never
    }

    let normalizations: [Normalization]
    let whitespaceSplit: Bool
    let replacement: Unicode.Scalar
    let prepend: Prepend
    let splitOnReplacement: Bool
    let added: AddedTokens
    public let model: Unigram
    public let classifier: Int32
    public let separator: Int32
    /// sentence-transformers' own lower-casing, before the tokenizer's.
    public var lowercaseInput = false

    public var largestID: Int32 { max(model.largestID, classifier, separator) }

    /// The ids of `text`, `<s>` and `</s>` included, at most `maxLength` of
    /// them: the text's tokens past `maxLength - 2` are dropped.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        var ids: [Int32] = [classifier]
        let room = maxLength - 1
        var offset = 0
        for segment in added.split(lowercaseInput ? text.lowercased() : text) {
            switch segment {
            case .special(let id):
                ids.append(id)
                // Only the text at the very start counts as "first".
                offset = 1
            case .text(let part):
                for word in words(part, atStart: offset == 0) {
                    model.append(Array(word.utf8), to: &ids)
                    if ids.count >= room { break }
                }
                offset = 1
            }
            if ids.count >= room { break }
        }
        if ids.count > room { ids.removeSubrange(room...) }
        ids.append(separator)
        return ids
    }

    func normalize(_ text: String) -> String {
        var text = text
        for step in normalizations {
            switch step {
            case .charsmap(let map): text = map.normalize(text)
            case .replace(let pattern, let content): text = text.replacingOccurrences(of: pattern, with: content)
            case .spaceRuns(let content):
                text = text.replacingOccurrences(of: " {2,}", with: content, options: .regularExpression)
            case .strip(let left, let right):
                var scalars = Substring(text).unicodeScalars
                while left, let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
                while right, let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
                text = String(scalars)
            }
        }
        return text
    }

    /// The pre-tokenizer's pieces of one normalised segment.
    func words(_ segment: String, atStart: Bool) -> [String] {
        let normalized = normalize(segment)
        var parts: [(text: String, atStart: Bool)]
        if whitespaceSplit {
            parts = []
            var current = String.UnicodeScalarView()
            var first = atStart
            for scalar in normalized.unicodeScalars {
                if scalar.properties.isWhitespace {
                    if !current.isEmpty { parts.append((String(current), first)) }
                    current = String.UnicodeScalarView()
                    first = false
                } else {
                    current.append(scalar)
                }
            }
            if !current.isEmpty { parts.append((String(current), first)) }
        } else {
            parts = normalized.isEmpty ? [] : [(normalized, atStart)]
        }
        // Scalar by scalar: a combining mark after a space must not hide
        // it, as it would in a Character.
        var words: [String] = []
        for part in parts {
            var text = String.UnicodeScalarView()
            for scalar in part.text.unicodeScalars {
                if scalar == " " { text.append(replacement) } else { text.append(scalar) }
            }
            let prepend =
                switch prepend {
                case .always: true
                case .first: part.atStart
                case .never: false
                }
            if prepend && text.first != replacement { text.insert(replacement, at: text.startIndex) }
            guard splitOnReplacement else {
                words.append(String(text))
                continue
            }
            // Each replacement starts a word.
            var word = String.UnicodeScalarView()
            for scalar in text {
                if scalar == replacement, !word.isEmpty {
                    words.append(String(word))
                    word = String.UnicodeScalarView()
                }
                word.append(scalar)
            }
            if !word.isEmpty { words.append(String(word)) }
        }
        return words
    }
}

extension UnigramTokenizer {
    public static func load(directory path: String) throws -> UnigramTokenizer {
        let directory = try ModelDirectory(path: path)
        return try read(directory, fields: directory.object("tokenizer.json"))
    }

    /// From the fields of a `tokenizer.json` whose model is a Unigram.
    static func read(_ directory: ModelDirectory, fields: JSONFields) throws -> UnigramTokenizer {
        guard let model = try fields.nested("model") else { throw fields.place("no model") }
        guard let entries = model.object["vocab"] as? [[Any]] else {
            throw model.place("the Unigram model has no vocab of [piece, score] pairs")
        }
        var pieces: [(String, Double)] = []
        pieces.reserveCapacity(entries.count)
        var vocabulary: [String: Int32] = [:]
        for entry in entries {
            guard entry.count == 2, let piece = entry[0] as? String, let score = entry[1] as? NSNumber else {
                throw model.place("a vocab entry is not a [piece, score] pair")
            }
            vocabulary[piece] = Int32(pieces.count)
            pieces.append((piece, score.doubleValue))
        }
        guard let unknown = try model.integer("unk_id"), unknown >= 0, unknown < pieces.count else {
            throw model.place("no unk_id within the vocab (the local provider needs an unknown token)")
        }
        let unigram = Unigram(
            pieces: pieces, unknown: Int32(unknown), byteFallback: try model.bool("byte_fallback") ?? false)
        let (classifier, separator) = try BertTokenizer.specialTokens(
            fields, vocabulary: vocabulary, directory: directory)
        let pre = try preTokenizer(fields)
        return UnigramTokenizer(
            normalizations: try normalizations(try fields.nested("normalizer")), whitespaceSplit: pre.whitespaceSplit,
            replacement: pre.replacement, prepend: pre.prepend, splitOnReplacement: pre.split,
            added: try AddedTokens.read(fields), model: unigram, classifier: classifier, separator: separator)
    }

    static func normalizations(_ fields: JSONFields?) throws -> [Normalization] {
        guard let fields else { return [] }
        switch try fields.string("type") {
        case "Sequence":
            guard let list = fields.object["normalizers"] as? [[String: Any]] else {
                throw fields.place("a Sequence normalizer without normalizers")
            }
            return try list.flatMap { try normalizations(JSONFields(object: $0, place: fields.place)) }
        case "Precompiled":
            guard let text = try fields.string("precompiled_charsmap"), let data = Data(base64Encoded: text),
                let map = PrecompiledCharsmap(Array(data))
            else { throw fields.place("the Precompiled normalizer's precompiled_charsmap cannot be read") }
            return [.charsmap(map)]
        case "Replace":
            let pattern = try fields.nested("pattern")
            let content = try fields.string("content") ?? ""
            if let string = try pattern?.string("String") { return [.replace(string, content)] }
            if try pattern?.string("Regex") == " {2,}" { return [.spaceRuns(content)] }
            throw fields.place("unsupported Replace normalizer (the local provider reads strings and \" {2,}\")")
        case "Strip":
            return [.strip(left: try fields.bool("strip_left") ?? true, right: try fields.bool("strip_right") ?? true)]
        case let type:
            throw fields.place(
                "unsupported tokenizer normalizer \(type.map { "\"\($0)\"" } ?? "(none)") (the local provider reads Precompiled, Replace, Strip and Sequence)"
            )
        }
    }

    static func preTokenizer(_ fields: JSONFields) throws -> (
        whitespaceSplit: Bool, replacement: Unicode.Scalar, prepend: Prepend, split: Bool
    ) {
        func unsupported(_ type: String?) -> EmbCacheError {
            fields.place(
                "unsupported tokenizer pre_tokenizer \(type.map { "\"\($0)\"" } ?? "(none)") (the local provider reads Metaspace, after WhitespaceSplit or alone)"
            )
        }
        guard var pre = try fields.nested("pre_tokenizer") else { throw unsupported(nil) }
        var whitespaceSplit = false
        if try pre.string("type") == "Sequence" {
            let list = pre.object["pretokenizers"] as? [[String: Any]] ?? []
            guard list.count == 2, list[0]["type"] as? String == "WhitespaceSplit" else {
                throw unsupported("Sequence")
            }
            whitespaceSplit = true
            pre = JSONFields(object: list[1], place: pre.place)
        }
        guard try pre.string("type") == "Metaspace" else { throw unsupported(try pre.string("type")) }
        let text = try pre.string("replacement") ?? "▁"
        guard text.unicodeScalars.count == 1, let replacement = text.unicodeScalars.first else {
            throw pre.place("the Metaspace replacement is not one character")
        }
        // Files older than prepend_scheme say add_prefix_space.
        var prepend: Prepend = (try pre.bool("add_prefix_space") ?? true) ? .always : .never
        if let scheme = try pre.string("prepend_scheme") {
            guard let value = Prepend(rawValue: scheme) else {
                throw pre.place("unsupported Metaspace prepend_scheme \"\(scheme)\"")
            }
            prepend = value
        }
        return (whitespaceSplit, replacement, prepend, try pre.bool("split") ?? true)
    }
}
