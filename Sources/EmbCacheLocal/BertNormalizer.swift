import Foundation

/// BERT's basic tokenization, as the `tokenizers` library's BertNormalizer
/// and BertPreTokenizer do it (what sentence-transformers runs): control
/// characters dropped, whitespace unified, CJK ideographs set apart, accents
/// stripped and case lowered as configured, then the text split at
/// whitespace and around every punctuation character.
public struct BertNormalizer: Sendable, Equatable {
    public var cleanText = true
    public var splitChineseCharacters = true
    public var stripAccents = true
    public var lowercase = true

    public init(
        cleanText: Bool = true, splitChineseCharacters: Bool = true, stripAccents: Bool = true, lowercase: Bool = true
    ) {
        self.cleanText = cleanText
        self.splitChineseCharacters = splitChineseCharacters
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    /// The words of `text`, each as its Unicode scalars.
    public func words(_ text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        forEachWord(text) {
            words.append($0)
            return true
        }
        return words
    }

    /// Calls `body` with each word in turn until it returns false. The text
    /// is normalised a whitespace-separated run at a time, which gives what
    /// normalising it whole would (no combining sequence spans whitespace),
    /// so a long text cut at the token limit costs no more than its kept
    /// part and its memory stays that of one run.
    public func forEachWord(_ text: String, _ body: ([Unicode.Scalar]) -> Bool) {
        forEachPiece(text, specials: NormalizedTokens()) { piece in
            guard case .word(let word) = piece else { return true }
            return body(word)
        }
    }

    enum Piece {
        case word([Unicode.Scalar])
        case special(Int32)
    }

    /// As `forEachWord`, with the added tokens that `tokenizers` finds in
    /// the normalised text cut out first. Such a token has no whitespace
    /// (it is one word of the normalised text or inside one), so it lies
    /// within one whitespace-separated run.
    func forEachPiece(_ text: String, specials: NormalizedTokens, _ body: (Piece) -> Bool) {
        var run = String.UnicodeScalarView()
        var word: [Unicode.Scalar] = []
        func flush() -> Bool {
            guard !run.isEmpty else { return true }
            defer { run.removeAll(keepingCapacity: true) }
            let scalars = normalized(String(run))
            var index = 0
            while index < scalars.count {
                let scalar = scalars[index]
                if let (id, length) = specials.match(scalars, at: index) {
                    if !word.isEmpty, !body(.word(word)) { return false }
                    word.removeAll(keepingCapacity: true)
                    if !body(.special(id)) { return false }
                    index += length
                    continue
                }
                index += 1
                if isBertWhitespace(scalar) {
                    if !word.isEmpty, !body(.word(word)) { return false }
                    word.removeAll(keepingCapacity: true)
                } else if isBertPunctuation(scalar) {
                    if !word.isEmpty, !body(.word(word)) { return false }
                    word.removeAll(keepingCapacity: true)
                    if !body(.word([scalar])) { return false }
                } else {
                    word.append(scalar)
                }
            }
            if !word.isEmpty, !body(.word(word)) { return false }
            word.removeAll(keepingCapacity: true)
            return true
        }
        for scalar in text.unicodeScalars {
            // Only where normalising leaves whitespace: clean-up drops
            // control characters first, whitespace ones (\u{85}) included.
            if isBertWhitespace(scalar) && !(cleanText && isDropped(scalar)) {
                if !flush() { return }
            } else {
                run.append(scalar)
            }
        }
        _ = flush()
    }

    func normalized(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        var ascii = true
        for scalar in text.unicodeScalars {
            // One lookup of the scalar's class serves clean-up and CJK.
            let kind = BertCharacterClass.of(scalar)
            if cleanText {
                if kind == .dropped { continue }
                if isBertWhitespace(scalar) {
                    scalars.append(" ")
                    continue
                }
            }
            if splitChineseCharacters && kind == .ideograph {
                scalars.append(" ")
                scalars.append(scalar)
                scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
            if !scalar.isASCII { ascii = false }
        }
        if ascii {
            if lowercase {
                for i in scalars.indices where ("A"..."Z").contains(scalars[i]) {
                    scalars[i] = Unicode.Scalar(scalars[i].value | 0x20)!
                }
            }
            return scalars
        }
        if stripAccents {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            scalars = String(view).decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                $0.properties.generalCategory != .nonspacingMark
            }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(scalars.count)
            for scalar in scalars {
                if scalar.isASCII {
                    lowered.append(("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value | 0x20)! : scalar)
                } else {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            scalars = lowered
        }
        return scalars
    }
}

/// Added tokens matched in normalised text, each as the normaliser leaves
/// its content; the longest first where several start at one place.
struct NormalizedTokens: Sendable {
    private var tokens: [(scalars: [Unicode.Scalar], id: Int32)] = []

    init() {}

    init(_ tokens: [AddedTokens.Token], normalizer: BertNormalizer) {
        self.tokens = tokens.map { (normalizer.normalized(String(decoding: $0.bytes, as: UTF8.self)), $0.id) }
            .filter { !$0.0.isEmpty }
            .sorted { $0.0.count > $1.0.count }
    }

    func match(_ scalars: [Unicode.Scalar], at index: Int) -> (id: Int32, length: Int)? {
        for token in tokens where index + token.scalars.count <= scalars.count {
            if scalars[index..<(index + token.scalars.count)].elementsEqual(token.scalars) {
                return (token.id, token.scalars.count)
            }
        }
        return nil
    }
}

/// What clean-up removes: NUL, the replacement character, and control,
/// format, private-use and surrogate characters as `tokenizers` knows them.
func isDropped(_ scalar: Unicode.Scalar) -> Bool {
    BertCharacterClass.of(scalar) == .dropped
}

/// Unicode's White_Space property, as Rust's `char::is_whitespace`.
func isBertWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace
}

/// ASCII punctuation (symbols such as `$`, `+` and `^` included) and
/// every Unicode punctuation category, as `tokenizers` knows them.
func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    BertCharacterClass.of(scalar) == .punctuation
}
