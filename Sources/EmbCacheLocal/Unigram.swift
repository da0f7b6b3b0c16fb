/// A SentencePiece unigram model: each piece of text cut into the
/// vocabulary's pieces whose scores sum highest (Viterbi over the UTF-8
/// bytes), as Hugging Face `tokenizers` does. A character no piece starts
/// with costs the lowest score minus 10 and is unknown; neighbouring
/// unknown characters make one token, spelt as `<0xNN>` byte tokens when
/// the model asks for byte fallback and has them all.
public struct Unigram: Sendable {
    /// Trie over the pieces' UTF-8 bytes: children[node << 8 | byte].
    let children: [Int: Int32]
    /// The id a trie node spells, or -1.
    let nodeIDs: [Int32]
    let scores: [Double]
    let ids: [[UInt8]: Int32]
    public let unknown: Int32
    public let byteFallback: Bool
    let unknownScore: Double
    /// `<0x00>` … `<0xFF>`, those the vocabulary has.
    let byteIDs: [Int32?]

    public init(pieces: [(String, Double)], unknown: Int32, byteFallback: Bool) {
        var children: [Int: Int32] = [:]
        var nodeIDs: [Int32] = [-1]
        var ids: [[UInt8]: Int32] = [:]
        for (index, (piece, _)) in pieces.enumerated() {
            let bytes = Array(piece.utf8)
            // The last of duplicate pieces wins, as in `tokenizers`.
            ids[bytes] = Int32(index)
            var node = 0
            for byte in bytes {
                let key = node << 8 | Int(byte)
                if let next = children[key] {
                    node = Int(next)
                } else {
                    children[key] = Int32(nodeIDs.count)
                    node = nodeIDs.count
                    nodeIDs.append(-1)
                }
            }
            nodeIDs[node] = 1
        }
        for (bytes, id) in ids {
            var node = 0
            for byte in bytes { node = Int(children[node << 8 | Int(byte)]!) }
            nodeIDs[node] = id
        }
        self.children = children
        self.nodeIDs = nodeIDs
        scores = pieces.map(\.1)
        self.ids = ids
        self.unknown = unknown
        self.byteFallback = byteFallback
        unknownScore = (pieces.map(\.1).min() ?? 0) - 10
        let hex = Array("0123456789ABCDEF".utf8)
        byteIDs = (0...255).map { ids[Array("<0x".utf8) + [hex[$0 >> 4], hex[$0 & 15], UInt8(ascii: ">")]] }
    }

    public var largestID: Int32 { Int32(max(scores.count - 1, Int(unknown))) }

    public func append(_ text: [UInt8], to out: inout [Int32]) {
        guard !text.isEmpty else { return }
        let size = text.count
        var best = [Double](repeating: 0, count: size + 1)
        var from = [Int](repeating: -1, count: size + 1)
        var token = [Int32](repeating: 0, count: size + 1)
        var start = 0
        while start < size {
            let here = best[start]
            let length = Self.scalarLength(text[start])
            var single = false
            var node = 0
            var end = start
            while end < size, let next = children[node << 8 | Int(text[end])] {
                node = Int(next)
                end += 1
                let id = nodeIDs[node]
                guard id >= 0 else { continue }
                let score = scores[Int(id)] + here
                if from[end] < 0 || score > best[end] {
                    best[end] = score
                    from[end] = start
                    token[end] = id
                }
                if end - start == length { single = true }
            }
            let end1 = min(start + length, size)
            if !single {
                let score = unknownScore + here
                if from[end1] < 0 || score > best[end1] {
                    best[end1] = score
                    from[end1] = start
                    token[end1] = unknown
                }
            }
            start = end1
        }
        // Back from the end; unknown runs fused into one piece.
        var path: [(start: Int, end: Int, id: Int32)] = []
        var end = size
        while end > 0 {
            let begin = from[end]
            if token[end] == unknown, let last = path.last, last.id == unknown, last.start == end {
                path[path.count - 1] = (begin, last.end, unknown)
            } else {
                path.append((begin, end, token[end]))
            }
            end = begin
        }
        for piece in path.reversed() {
            guard piece.id == unknown else {
                out.append(piece.id)
                continue
            }
            let bytes = Array(text[piece.start..<piece.end])
            if let id = ids[bytes] {
                out.append(id)
            } else if byteFallback, bytes.allSatisfy({ byteIDs[Int($0)] != nil }) {
                for byte in bytes { out.append(byteIDs[Int(byte)]!) }
            } else {
                out.append(unknown)
            }
        }
    }

    static func scalarLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: 1
        case 0xE0..<0xF0: 3
        case 0xF0...: 4
        default: 2
        }
    }
}
