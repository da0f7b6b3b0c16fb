import Foundation

/// Text to token ids as the model was trained: basic tokenization, then
/// WordPiece, then `[CLS] … [SEP]` within the length limit. Read from
/// `tokenizer.json` when the directory has one (as sentence-transformers
/// does), else from `vocab.txt` and `tokenizer_config.json`.
public struct BertTokenizer: Sendable {
    public let normalizer: BertNormalizer
    public let wordPiece: WordPiece
    public let classifier: Int32
    public let separator: Int32
    /// sentence-transformers' own lower-casing, before the tokenizer's.
    public var lowercaseInput = false
    /// Tokens such as `[CLS]` or `[MASK]` written in a text: found in the
    /// raw text before normalisation and kept whole.
    let specialTokens: AddedTokens
    /// Tokens found in the normalised text instead (`"normalized": true`).
    let normalizedTokens: NormalizedTokens

    public init(
        normalizer: BertNormalizer, wordPiece: WordPiece, classifier: Int32, separator: Int32,
        specialTokens: [String: Int32] = [:]
    ) {
        self.init(
            normalizer: normalizer, wordPiece: wordPiece, classifier: classifier, separator: separator,
            added: AddedTokens(specialTokens.map { AddedTokens.Token(bytes: Array($0.key.utf8), id: $0.value) }))
    }

    init(
        normalizer: BertNormalizer, wordPiece: WordPiece, classifier: Int32, separator: Int32, added: AddedTokens,
        normalized: [AddedTokens.Token] = []
    ) {
        self.normalizer = normalizer
        self.wordPiece = wordPiece
        self.classifier = classifier
        self.separator = separator
        specialTokens = added
        normalizedTokens = NormalizedTokens(normalized, normalizer: normalizer)
    }

    /// The ids of `text`, `[CLS]` and `[SEP]` included, at most `maxLength`
    /// of them: the text's tokens past `maxLength - 2` are dropped.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        var ids: [Int32] = [classifier]
        let room = maxLength - 1
        segments: for segment in specialTokens.split(lowercaseInput ? text.lowercased() : text) {
            switch segment {
            case .special(let id):
                ids.append(id)
                if ids.count >= room { break segments }
            case .text(let part):
                normalizer.forEachPiece(part, specials: normalizedTokens) { piece in
                    switch piece {
                    case .word(let word): wordPiece.append(word, to: &ids)
                    case .special(let id): ids.append(id)
                    }
                    return ids.count < room
                }
                if ids.count >= room { break segments }
            }
        }
        if ids.count > room { ids.removeSubrange(room...) }
        ids.append(separator)
        return ids
    }

    public static func load(directory path: String) throws -> BertTokenizer {
        try read(ModelDirectory(path: path))
    }

    static func read(_ directory: ModelDirectory) throws -> BertTokenizer {
        if directory.exists("tokenizer.json") { return try fromTokenizerJSON(directory) }
        if directory.exists("vocab.txt") { return try fromVocabulary(directory) }
        throw directory.error("tokenizer.json", "missing, and so is vocab.txt: the model directory has no tokenizer")
    }

    private static func fromTokenizerJSON(_ directory: ModelDirectory) throws -> BertTokenizer {
        let file = "tokenizer.json"
        let fields = try directory.object(file)
        func unsupported(_ part: String, _ fields: JSONFields?, _ supported: String) throws -> Never {
            let type = (try? fields?.string("type")) ?? nil
            throw directory.error(
                file,
                "unsupported tokenizer \(part) \(type.map { "\"\($0)\"" } ?? "(none)") (the local provider reads \(supported))"
            )
        }
        guard let model = try fields.nested("model"), try model.string("type") == "WordPiece" else {
            try unsupported("model", try fields.nested("model"), "WordPiece and Unigram")
        }
        guard let normalizerFields = try fields.nested("normalizer"),
            try normalizerFields.string("type") == "BertNormalizer"
        else { try unsupported("normalizer", try fields.nested("normalizer"), "BertNormalizer") }
        guard let pre = try fields.nested("pre_tokenizer"), try pre.string("type") == "BertPreTokenizer" else {
            try unsupported("pre_tokenizer", try fields.nested("pre_tokenizer"), "BertPreTokenizer")
        }
        guard let vocabularyObject = model.object["vocab"] as? [String: Any] else {
            throw directory.error(file, "the WordPiece model has no vocab")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(vocabularyObject.count)
        for (token, value) in vocabularyObject {
            guard let id = value as? NSNumber, id.intValue >= 0, id.intValue < Int(Int32.max) else {
                throw directory.error(file, "the vocab's id of \"\(token)\" is not a token id")
            }
            vocabulary[token] = Int32(id.intValue)
        }
        let lowercase = try normalizerFields.bool("lowercase") ?? true
        let normalizer = BertNormalizer(
            cleanText: try normalizerFields.bool("clean_text") ?? true,
            splitChineseCharacters: try normalizerFields.bool("handle_chinese_chars") ?? true,
            stripAccents: try normalizerFields.bool("strip_accents") ?? lowercase,
            lowercase: lowercase)
        let unknownToken = try model.string("unk_token") ?? "[UNK]"
        guard let unknown = vocabulary[unknownToken] else {
            throw directory.error(file, "the unknown token \"\(unknownToken)\" is not in the vocab")
        }
        let wordPiece = WordPiece(
            vocabulary: vocabulary, unknown: unknown, prefix: try model.string("continuing_subword_prefix") ?? "##",
            maxCharactersPerWord: try model.integer("max_input_chars_per_word") ?? 100)
        let (classifier, separator) = try specialTokens(fields, vocabulary: vocabulary, directory: directory)
        let (added, normalized) = try AddedTokens.readBoth(fields)
        return BertTokenizer(
            normalizer: normalizer, wordPiece: wordPiece, classifier: classifier, separator: separator, added: added,
            normalized: normalized)
    }

    /// [CLS] and [SEP] from the post-processor: BERT's `[CLS] $A [SEP]`,
    /// XLM-R's `<s> $A </s>`.
    static func specialTokens(_ fields: JSONFields, vocabulary: [String: Int32], directory: ModelDirectory)
        throws -> (Int32, Int32)
    {
        let file = "tokenizer.json"
        guard let post = try fields.nested("post_processor") else {
            throw directory.error(file, "unsupported tokenizer post_processor (none): [CLS] and [SEP] are not added")
        }
        switch try post.string("type") {
        case "BertProcessing", "RobertaProcessing":
            guard let cls = post.object["cls"] as? [Any], let sep = post.object["sep"] as? [Any],
                let clsID = (cls.last as? NSNumber)?.int32Value, let sepID = (sep.last as? NSNumber)?.int32Value
            else { throw directory.error(file, "the post_processor has no cls and sep") }
            return (clsID, sepID)
        case "TemplateProcessing":
            guard let single = post.object["single"] as? [[String: Any]], single.count == 3,
                let first = (single[0]["SpecialToken"] as? [String: Any])?["id"] as? String,
                single[1]["Sequence"] != nil,
                let last = (single[2]["SpecialToken"] as? [String: Any])?["id"] as? String
            else {
                throw directory.error(
                    file,
                    "unsupported TemplateProcessing: the local provider runs \"[CLS] $A [SEP]\" or \"<s> $A </s>\"")
            }
            let specials = post.object["special_tokens"] as? [String: Any] ?? [:]
            func id(_ token: String) throws -> Int32 {
                if let entry = specials[token] as? [String: Any], let ids = entry["ids"] as? [NSNumber], ids.count == 1
                {
                    return ids[0].int32Value
                }
                guard let id = vocabulary[token] else {
                    throw directory.error(file, "the special token \"\(token)\" has no id")
                }
                return id
            }
            return (try id(first), try id(last))
        case let type:
            throw directory.error(
                file,
                "unsupported tokenizer post_processor \(type.map { "\"\($0)\"" } ?? "(none)") (the local provider reads BertProcessing, RobertaProcessing and TemplateProcessing)"
            )
        }
    }

    private static func fromVocabulary(_ directory: ModelDirectory) throws -> BertTokenizer {
        let data = try directory.data("vocab.txt")
        guard let text = String(data: data, encoding: .utf8) else { throw directory.error("vocab.txt", "not UTF-8") }
        var vocabulary: [String: Int32] = [:]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for (index, line) in lines.enumerated() {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if vocabulary[token] == nil { vocabulary[token] = Int32(index) }
        }
        var lowercase = true
        var stripAccents: Bool?
        var chinese = true
        var names = (unknown: "[UNK]", classifier: "[CLS]", separator: "[SEP]", padding: "[PAD]", mask: "[MASK]")
        if directory.exists("tokenizer_config.json") {
            let fields = try directory.object("tokenizer_config.json")
            if let type = try fields.string("tokenizer_class"), !["BertTokenizer", "BertTokenizerFast"].contains(type) {
                throw fields.place("unsupported tokenizer_class \"\(type)\" (the local provider reads BertTokenizer)")
            }
            lowercase = try fields.bool("do_lower_case") ?? true
            stripAccents = try fields.bool("strip_accents")
            chinese = try fields.bool("tokenize_chinese_chars") ?? true
            func token(_ key: String) -> String? {
                if let text = fields.object[key] as? String { return text }
                return (fields.object[key] as? [String: Any])?["content"] as? String
            }
            names = (
                token("unk_token") ?? names.unknown, token("cls_token") ?? names.classifier,
                token("sep_token") ?? names.separator, token("pad_token") ?? names.padding,
                token("mask_token") ?? names.mask
            )
        }
        func id(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else { throw directory.error("vocab.txt", "has no \"\(token)\"") }
            return id
        }
        let normalizer = BertNormalizer(
            cleanText: true, splitChineseCharacters: chinese, stripAccents: stripAccents ?? lowercase,
            lowercase: lowercase)
        // transformers' BertTokenizer keeps its special tokens whole too.
        var specials: [String: Int32] = [:]
        for name in [names.unknown, names.classifier, names.separator, names.padding, names.mask] {
            if let id = vocabulary[name] { specials[name] = id }
        }
        return BertTokenizer(
            normalizer: normalizer, wordPiece: WordPiece(vocabulary: vocabulary, unknown: try id(names.unknown)),
            classifier: try id(names.classifier), separator: try id(names.separator), specialTokens: specials)
    }
}
