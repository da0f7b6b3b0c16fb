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

    public func vector(for text: String) -> [Float] {
        var sums = [Double](repeating: 0, count: width)
        var bytes = [UInt8](text.utf8)
        for i in bytes.indices where (0x41...0x5A).contains(bytes[i]) { bytes[i] |= 0x20 }

        func add(_ hash: UInt64, _ weight: Double) {
            let mixed = splitMix(hash)
            sums[Int(mixed % UInt64(width))] += (mixed >> 63) == 0 ? weight : -weight
        }

        var words: [Range<Int>] = []
        var start: Int?
        for i in 0...bytes.count {
            let isWord = i < bytes.count && Self.isWordByte(bytes[i])
            if isWord, start == nil { start = i }
            if !isWord, let s = start {
                words.append(s..<i)
                start = nil
            }
        }
        for word in words {
            add(fnv(prefix: "w:", bytes[word]), 1)
        }
        for (first, second) in zip(words, words.dropFirst()) {
            var hash = fnv(prefix: "b:", bytes[first])
            hash = fnv(continuing: hash, CollectionOfOne(0x20))
            add(fnv(continuing: hash, bytes[second]), 1)
        }
        let padded = [0x20] + bytes + [0x20]
        let starts = padded.indices.filter { padded[$0] & 0xC0 != 0x80 }
        if starts.count >= 3 {
            for i in 0..<(starts.count - 2) {
                let end = i + 3 < starts.count ? starts[i + 3] : padded.count
                add(fnv(prefix: "c:", padded[starts[i]..<end]), 0.5)
            }
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

private func fnv<C: Collection>(prefix: StaticString, _ bytes: C) -> UInt64 where C.Element == UInt8 {
    let start = prefix.withUTF8Buffer { fnv(continuing: fnvOffset, $0) }
    return fnv(continuing: start, bytes)
}

private func splitMix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}
