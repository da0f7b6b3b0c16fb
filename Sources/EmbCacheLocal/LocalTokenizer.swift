/// The tokenizer of a model directory: WordPiece (BERT) or Unigram
/// (SentencePiece, as XLM-R and the multilingual MiniLM have), as its
/// `tokenizer.json` says; WordPiece from `vocab.txt` without one.
public enum LocalTokenizer: Sendable {
    case wordPiece(BertTokenizer)
    case unigram(UnigramTokenizer)

    public static func load(directory path: String) throws -> LocalTokenizer {
        try read(ModelDirectory(path: path))
    }

    static func read(_ directory: ModelDirectory) throws -> LocalTokenizer {
        if directory.exists("tokenizer.json") {
            let fields = try directory.object("tokenizer.json")
            if try fields.nested("model")?.string("type") == "Unigram" {
                return .unigram(try UnigramTokenizer.read(directory, fields: fields))
            }
        }
        return .wordPiece(try BertTokenizer.read(directory))
    }

    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        switch self {
        case .wordPiece(let tokenizer): tokenizer.encode(text, maxLength: maxLength)
        case .unigram(let tokenizer): tokenizer.encode(text, maxLength: maxLength)
        }
    }

    public var largestID: Int32 {
        switch self {
        case .wordPiece(let tokenizer): max(tokenizer.wordPiece.largestID, tokenizer.classifier, tokenizer.separator)
        case .unigram(let tokenizer): tokenizer.largestID
        }
    }

    /// sentence-transformers' own lower-casing, before the tokenizer's.
    public var lowercaseInput: Bool {
        get {
            switch self {
            case .wordPiece(let tokenizer): tokenizer.lowercaseInput
            case .unigram(let tokenizer): tokenizer.lowercaseInput
            }
        }
        set {
            switch self {
            case .wordPiece(var tokenizer):
                tokenizer.lowercaseInput = newValue
                self = .wordPiece(tokenizer)
            case .unigram(var tokenizer):
                tokenizer.lowercaseInput = newValue
                self = .unigram(tokenizer)
            }
        }
    }
}
