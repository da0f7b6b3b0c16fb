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

    /// One pass over the text's own bytes: a word's hashes (as a word, as
    /// the first and as the second of a bigram) are carried along as its
    /// bytes go by, and only the last three character starts are kept, so
    /// a text of any size costs `d` doubles, not arrays as long as the
    /// text. Every weight is 1 or 0.5, so each sum is exact and the order
    /// of the additions does not matter.
    public func vector(for text: String) -> [Float] {
        var sums = [Double](repeating: 0, count: width)
        var text = text
        text.withUTF8 { bytes in
            sums.withUnsafeMutableBufferPointer { Self.addFeatures(of: bytes, to: $0) }
        }

        let norm = sums.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else {
            var unit = [Float](repeating: 0, count: width)
            unit[0] = 1
            return unit
        }
        return sums.map { Float($0 / norm) }
    }

    private static func addFeatures(of bytes: UnsafeBufferPointer<UInt8>, to sums: UnsafeMutableBufferPointer<Double>) {
        let width = UInt64(sums.count)
        func add(_ hash: UInt64, _ weight: Double) {
            let mixed = splitMix(hash)
            sums[Int(mixed % width)] += (mixed >> 63) == 0 ? weight : -weight
        }
        // The text lowered, with a space added at each end: position p of
        // it is byte p - 1 of the text.
        let count = bytes.count + 2
        func padded(_ position: Int) -> UInt8 {
            guard position > 0 && position < count - 1 else { return 0x20 }
            let byte = bytes[position - 1]
            return (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
        }
        let (wordStart, bigramStart, trigramStart) = (fnv(prefix: "w:"), fnv(prefix: "b:"), fnv(prefix: "c:"))
        var inWord = false
        var word: UInt64 = 0
        var asFirst: UInt64 = 0
        var asSecond: UInt64 = 0
        // "b:", the word before and a space, once there is one.
        var afterPrevious: UInt64?
        // Starts of the last three characters, oldest first.
        var starts: (Int, Int, Int) = (0, 0, 0)
        var startCount = 0
        for p in 0..<count {
            let byte = padded(p)
            if p > 0 && p < count - 1 && isWordByte(byte) {
                if !inWord {
                    inWord = true
                    (word, asFirst, asSecond) = (wordStart, bigramStart, afterPrevious ?? 0)
                }
                word = fnv(continuing: word, byte)
                asFirst = fnv(continuing: asFirst, byte)
                asSecond = fnv(continuing: asSecond, byte)
            } else if inWord {
                inWord = false
                add(word, 1)
                if afterPrevious != nil { add(asSecond, 1) }
                afterPrevious = fnv(continuing: asFirst, 0x20)
            }
            guard byte & 0xC0 != 0x80 else { continue }
            if startCount >= 3 {
                var hash = trigramStart
                for q in starts.0..<p { hash = fnv(continuing: hash, padded(q)) }
                add(hash, 0.5)
            }
            starts = (starts.1, starts.2, p)
            startCount += 1
        }
        if startCount >= 3 {
            var hash = trigramStart
            for q in starts.0..<count { hash = fnv(continuing: hash, padded(q)) }
            add(hash, 0.5)
        }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte)
    }
}

private let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
private let fnvPrime: UInt64 = 0x100_0000_01b3

private func fnv(continuing hash: UInt64, _ byte: UInt8) -> UInt64 {
    (hash ^ UInt64(byte)) &* fnvPrime
}

private func fnv(prefix: StaticString) -> UInt64 {
    prefix.withUTF8Buffer { $0.reduce(fnvOffset, fnv(continuing:_:)) }
}

private func splitMix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}
