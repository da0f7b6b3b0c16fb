/// SentencePiece's `precompiled_charsmap`, the `Precompiled` normaliser of
/// a `tokenizer.json`: a little-endian u32 byte length, a double-array
/// trie of that many bytes (u32 units) from UTF-8 keys to offsets, then a
/// blob of NUL-terminated UTF-8 replacements the offsets point into.
///
/// Applied as Hugging Face `tokenizers` applies it: grapheme by grapheme,
/// a grapheme shorter than 6 bytes replaced by the entry of its shortest
/// prefix in the trie when it has one, else scalar by scalar.
public struct PrecompiledCharsmap: Sendable {
    let units: [UInt32]
    let replacements: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 4 else { return nil }
        let size = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard size % 4 == 0, size >= 4, 4 + size <= bytes.count else { return nil }
        var units: [UInt32] = []
        units.reserveCapacity(size / 4)
        var at = 4
        while at < 4 + size {
            units.append(
                UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3])
                    << 24)
            at += 4
        }
        self.units = units
        replacements = Array(bytes[(4 + size)...])
    }

    /// The replacement of the shortest prefix of `key` the trie holds.
    func replacement<C: Collection<UInt8>>(_ key: C) -> ArraySlice<UInt8>? {
        func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
        var node = offset(units[0])
        for byte in key {
            if byte == 0 { return nil }
            node ^= Int(byte)
            guard node < units.count else { return nil }
            let unit = units[node]
            // The label: the byte, and the top bit of a value unit.
            guard unit & 0x8000_00FF == UInt32(byte) else { return nil }
            node ^= offset(unit)
            if (unit >> 8) & 1 == 1 {
                guard node < units.count else { return nil }
                let start = Int(units[node] & 0x7FFF_FFFF)
                guard start <= replacements.count else { return nil }
                let end = replacements[start...].firstIndex(of: 0) ?? replacements.count
                return replacements[start..<end]
            }
        }
        return nil
    }

    public func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let bytes = grapheme.utf8
            if bytes.count < 6, let whole = replacement(bytes) {
                out.append(contentsOf: whole)
                continue
            }
            for scalar in grapheme.unicodeScalars {
                let encoded = Array(String(scalar).utf8)
                if let part = replacement(encoded) {
                    out.append(contentsOf: part)
                } else {
                    out.append(contentsOf: encoded)
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
