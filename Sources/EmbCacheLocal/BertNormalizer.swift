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
        var word: [Unicode.Scalar] = []
        func endWord() {
            if !word.isEmpty { words.append(word) }
            word.removeAll(keepingCapacity: true)
        }
        for scalar in normalized(text) {
            if isBertWhitespace(scalar) {
                endWord()
            } else if isBertPunctuation(scalar) {
                endWord()
                words.append([scalar])
            } else {
                word.append(scalar)
            }
        }
        endWord()
        return words
    }

    func normalized(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        var ascii = true
        for scalar in text.unicodeScalars {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || isBertControl(scalar) { continue }
                if isBertWhitespace(scalar) {
                    scalars.append(" ")
                    continue
                }
            }
            if splitChineseCharacters && isCJKIdeograph(scalar) {
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

/// Tab, newline and carriage return count as whitespace, not control.
func isBertControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar {
    case "\t", "\n", "\r": return false
    default:
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }
}

/// Unicode's White_Space property, as Rust's `char::is_whitespace`.
func isBertWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace
}

/// ASCII punctuation (symbols such as `$`, `+` and `^` included) and
/// every Unicode punctuation category.
func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
        return true
    }
    guard !scalar.isASCII else { return false }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
        .finalPunctuation, .otherPunctuation:
        return true
    default: return false
    }
}

/// The CJK Unified Ideographs blocks BERT sets apart (not Hiragana,
/// Katakana or Hangul, which are split as words).
func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
        0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
        return true
    default: return false
    }
}
