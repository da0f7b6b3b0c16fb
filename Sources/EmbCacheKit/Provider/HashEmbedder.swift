/// `hash-<d>`: a lexical embedder built in, for offline use and tests.
/// Signed feature hashing of word unigrams, word bigrams and character
/// trigrams, L2-normalised. It knows nothing of meaning: "car" and
/// "automobile" share no feature.
///
/// The definition is part of the cache format (its vectors are cached
/// under `hash-<d>`), so it must never change:
/// - ASCII letters are lowered; nothing else is case-mapped, so results
///   do not depend on Unicode tables.
/// - Words are maximal runs of ASCII letters and digits and of non-ASCII
///   characters.
/// - Features are hashed with 64-bit FNV-1a over their UTF-8 bytes, prefixed
///   `w:` (word), `b:` (two words joined by a space) or `c:` (three
///   characters of the lowered text with a space added at each end), then
///   mixed with the SplitMix64 finaliser; the bucket is the hash modulo d
///   and the sign its top bit. Words and bigrams weigh 1, trigrams 0.5.
/// - The sum is divided by its Euclidean norm; a text whose features
///   cancel exactly gets the unit vector on bucket 0.
public struct HashEmbedder: EmbeddingProvider {
    private let width: Int
    public var dimension: Int? { width }
    public var name: String { "hash" }
    public var limits: BatchLimits { BatchLimits(texts: 256, bytes: 1 << 20) }

    /// The model names this provider answers to: `hash-1` … `hash-65536`.
    public static func dimension(forModel model: String) -> Int? {
        guard model.hasPrefix("hash-"), let d = Int(model.dropFirst(5)), d >= 1, d <= 65536,
            model == "hash-\(d)"
        else { return nil }
        return d
    }

    public init(dimension: Int) {
        self.width = dimension
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map(vector)
    }

    /// One pass over the text's own bytes, holding only the last word and
    /// the last three character starts: a text of any size costs `d`
    /// doubles, not arrays as long as the text. Every weight is 1 or 0.5,
    /// so each sum is exact and the order of the additions does not matter.
    public func vector(for text: String) -> [Float] {
        var sums = [Double](repeating: 0, count: width)
        func add(_ hash: UInt64, _ weight: Double) {
            let mixed = splitMix(hash)
            sums[Int(mixed % UInt64(width))] += (mixed >> 63) == 0 ? weight : -weight
        }
        var text = text
        text.withUTF8 { bytes in
            // The text lowered, with a space added at each end: position p
            // of it is byte p - 1 of the text.
            let count = bytes.count + 2
            let padded = PaddedLowered(bytes: bytes)
            var previousWord: Range<Int>?
            var wordStart: Int?
            // Starts of the last characters, oldest first, in `padded`.
            var starts: (Int, Int, Int) = (0, 0, 0)
            var startCount = 0
            for p in 0..<count {
                let byte = padded[p]
                let isWord = p > 0 && p < count - 1 && Self.isWordByte(byte)
                if isWord, wordStart == nil { wordStart = p }
                if !isWord, let s = wordStart {
                    let word = s..<p
                    add(fnv(prefix: "w:", padded, word), 1)
                    if let first = previousWord {
                        var hash = fnv(prefix: "b:", padded, first)
                        hash = fnv(continuing: hash, CollectionOfOne(0x20))
                        add(fnv(continuing: hash, padded, word), 1)
                    }
                    previousWord = word
                    wordStart = nil
                }
                guard byte & 0xC0 != 0x80 else { continue }
                if startCount >= 3 { add(fnv(prefix: "c:", padded, starts.0..<p), 0.5) }
                starts = (starts.1, starts.2, p)
                startCount += 1
            }
            if startCount >= 3 { add(fnv(prefix: "c:", padded, starts.0..<count), 0.5) }
        }

        let norm = sums.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else {
            var unit = [Float](repeating: 0, count: width)
            unit[0] = 1
            return unit
        }
        return sums.map { Float($0 / norm) }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte)
    }
}

private let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
private let fnvPrime: UInt64 = 0x100_0000_01b3

private func fnv<C: Collection>(continuing hash: UInt64, _ bytes: C) -> UInt64 where C.Element == UInt8 {
    var hash = hash
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* fnvPrime
    }
    return hash
}

private func fnv(continuing hash: UInt64, _ padded: PaddedLowered, _ range: Range<Int>) -> UInt64 {
    var hash = hash
    for p in range {
        hash ^= UInt64(padded[p])
        hash = hash &* fnvPrime
    }
    return hash
}

private func fnv(prefix: StaticString, _ padded: PaddedLowered, _ range: Range<Int>) -> UInt64 {
    let start = prefix.withUTF8Buffer { fnv(continuing: fnvOffset, $0) }
    return fnv(continuing: start, padded, range)
}

/// A text's bytes with ASCII letters lowered and a space at each end, read
/// in place.
private struct PaddedLowered {
    let bytes: UnsafeBufferPointer<UInt8>

    subscript(position: Int) -> UInt8 {
        guard position > 0 && position <= bytes.count else { return 0x20 }
        let byte = bytes[position - 1]
        return (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }
}

private func splitMix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}
