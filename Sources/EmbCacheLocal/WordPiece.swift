/// WordPiece: each word as the longest vocabulary pieces, left to right,
/// pieces after the first spelt with the continuation prefix (`##`); a
/// word that cannot be spelt so, or longer than the limit, is one unknown
/// token. Pieces are matched by their UTF-8 bytes, as the `tokenizers`
/// library does: Swift's String equality would match a decomposed accent
/// with a composed one.
public struct WordPiece: Sendable {
    public let vocabulary: [[UInt8]: Int32]
    public let unknown: Int32
    public let prefix: [UInt8]
    public let maxCharactersPerWord: Int

    public init(vocabulary: [String: Int32], unknown: Int32, prefix: String = "##", maxCharactersPerWord: Int = 100) {
        var bytes: [[UInt8]: Int32] = [:]
        bytes.reserveCapacity(vocabulary.count)
        for (token, id) in vocabulary { bytes[Array(token.utf8)] = id }
        self.vocabulary = bytes
        self.unknown = unknown
        self.prefix = Array(prefix.utf8)
        self.maxCharactersPerWord = maxCharactersPerWord
    }

    public var largestID: Int32 { max(vocabulary.values.max() ?? 0, unknown) }

    public func append(_ word: [Unicode.Scalar], to ids: inout [Int32]) {
        if word.count > maxCharactersPerWord {
            ids.append(unknown)
            return
        }
        // offsets[i]: where scalar i starts in the word's UTF-8.
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(word.count + 1)
        for scalar in word {
            offsets.append(bytes.count)
            UTF8.encode(scalar) { bytes.append($0) }
        }
        offsets.append(bytes.count)
        let mark = ids.count
        var start = 0
        var candidate: [UInt8] = []
        while start < word.count {
            var end = word.count
            var found: Int32?
            while end > start {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append(contentsOf: prefix) }
                candidate.append(contentsOf: bytes[offsets[start]..<offsets[end]])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else {
                ids.removeSubrange(mark...)
                ids.append(unknown)
                return
            }
            ids.append(found)
            start = end
        }
    }
}
