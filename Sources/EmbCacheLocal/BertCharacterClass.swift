/// How BERT's basic tokenization treats a scalar beyond ASCII, as Hugging
/// Face `tokenizers` does it: clean-up drops control, format, private-use
/// and surrogate characters, CJK ideographs are set apart, punctuation is a
/// word of its own. `tokenizers` classes characters by the Unicode tables of
/// the crate it builds on, older than the system's: a character assigned
/// since (or still unassigned) stays inside its word and makes `[UNK]` as
/// there, and its CJK ranges are BERT's but for Extension E, which starts
/// at U+2B920. The runs below are those of Tests/EmbCacheLocalTests/Fixtures/
/// bert-character-classes.txt, made by `tokenizers` 0.23.3 itself
/// (make_character_classes.py there); BertTokenizerTests checks every
/// scalar against that file. Whitespace is Unicode's White_Space property,
/// which has not moved.
enum BertCharacterClass: UInt8, Sendable {
    case kept, dropped, ideograph, punctuation

    static func of(_ scalar: Unicode.Scalar) -> BertCharacterClass {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0...8, 0x0E...0x1F, 0x7F, 0x0B, 0x0C: return .dropped
            case 33...47, 58...64, 91...96, 123...126: return .punctuation
            default: return .kept
            }
        }
        // The last run that starts at or before the scalar.
        var low = 0
        var high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if runs[middle].first <= value { low = middle + 1 } else { high = middle }
        }
        guard low > 0, value <= runs[low - 1].last else { return .kept }
        return runs[low - 1].kind
    }

    /// Runs of scalars from U+0080 on that are not kept, in order.
    private static let runs: [(first: UInt32, last: UInt32, kind: BertCharacterClass)] = [
        (0x7F, 0x9F, .dropped), (0xA1, 0xA1, .punctuation), (0xA7, 0xA7, .punctuation), (0xAB, 0xAB, .punctuation),
        (0xAD, 0xAD, .dropped), (0xB6, 0xB7, .punctuation), (0xBB, 0xBB, .punctuation), (0xBF, 0xBF, .punctuation),
        (0x37E, 0x37E, .punctuation), (0x387, 0x387, .punctuation), (0x55A, 0x55F, .punctuation),
        (0x589, 0x58A, .punctuation), (0x5BE, 0x5BE, .punctuation), (0x5C0, 0x5C0, .punctuation),
        (0x5C3, 0x5C3, .punctuation), (0x5C6, 0x5C6, .punctuation), (0x5F3, 0x5F4, .punctuation),
        (0x600, 0x605, .dropped), (0x609, 0x60A, .punctuation), (0x60C, 0x60D, .punctuation),
        (0x61B, 0x61B, .punctuation), (0x61C, 0x61C, .dropped), (0x61E, 0x61F, .punctuation),
        (0x66A, 0x66D, .punctuation), (0x6D4, 0x6D4, .punctuation), (0x6DD, 0x6DD, .dropped),
        (0x700, 0x70D, .punctuation), (0x70F, 0x70F, .dropped), (0x7F7, 0x7F9, .punctuation),
        (0x830, 0x83E, .punctuation), (0x85E, 0x85E, .punctuation), (0x964, 0x965, .punctuation),
        (0x970, 0x970, .punctuation), (0xAF0, 0xAF0, .punctuation), (0xDF4, 0xDF4, .punctuation),
        (0xE4F, 0xE4F, .punctuation), (0xE5A, 0xE5B, .punctuation), (0xF04, 0xF12, .punctuation),
        (0xF14, 0xF14, .punctuation), (0xF3A, 0xF3D, .punctuation), (0xF85, 0xF85, .punctuation),
        (0xFD0, 0xFD4, .punctuation), (0xFD9, 0xFDA, .punctuation), (0x104A, 0x104F, .punctuation),
        (0x10FB, 0x10FB, .punctuation), (0x1360, 0x1368, .punctuation), (0x1400, 0x1400, .punctuation),
        (0x166D, 0x166E, .punctuation), (0x169B, 0x169C, .punctuation), (0x16EB, 0x16ED, .punctuation),
        (0x1735, 0x1736, .punctuation), (0x17D4, 0x17D6, .punctuation), (0x17D8, 0x17DA, .punctuation),
        (0x1800, 0x180A, .punctuation), (0x180E, 0x180E, .dropped), (0x1944, 0x1945, .punctuation),
        (0x1A1E, 0x1A1F, .punctuation), (0x1AA0, 0x1AA6, .punctuation), (0x1AA8, 0x1AAD, .punctuation),
        (0x1B5A, 0x1B60, .punctuation), (0x1BFC, 0x1BFF, .punctuation), (0x1C3B, 0x1C3F, .punctuation),
        (0x1C7E, 0x1C7F, .punctuation), (0x1CC0, 0x1CC7, .punctuation), (0x1CD3, 0x1CD3, .punctuation),
        (0x200B, 0x200F, .dropped), (0x2010, 0x2027, .punctuation), (0x202A, 0x202E, .dropped),
        (0x2030, 0x2043, .punctuation), (0x2045, 0x2051, .punctuation), (0x2053, 0x205E, .punctuation),
        (0x2060, 0x2064, .dropped), (0x2066, 0x206F, .dropped), (0x207D, 0x207E, .punctuation),
        (0x208D, 0x208E, .punctuation), (0x2308, 0x230B, .punctuation), (0x2329, 0x232A, .punctuation),
        (0x2768, 0x2775, .punctuation), (0x27C5, 0x27C6, .punctuation), (0x27E6, 0x27EF, .punctuation),
        (0x2983, 0x2998, .punctuation), (0x29D8, 0x29DB, .punctuation), (0x29FC, 0x29FD, .punctuation),
        (0x2CF9, 0x2CFC, .punctuation), (0x2CFE, 0x2CFF, .punctuation), (0x2D70, 0x2D70, .punctuation),
        (0x2E00, 0x2E2E, .punctuation), (0x2E30, 0x2E42, .punctuation), (0x3001, 0x3003, .punctuation),
        (0x3008, 0x3011, .punctuation), (0x3014, 0x301F, .punctuation), (0x3030, 0x3030, .punctuation),
        (0x303D, 0x303D, .punctuation), (0x30A0, 0x30A0, .punctuation), (0x30FB, 0x30FB, .punctuation),
        (0x3400, 0x4DBF, .ideograph), (0x4E00, 0x9FFF, .ideograph), (0xA4FE, 0xA4FF, .punctuation),
        (0xA60D, 0xA60F, .punctuation), (0xA673, 0xA673, .punctuation), (0xA67E, 0xA67E, .punctuation),
        (0xA6F2, 0xA6F7, .punctuation), (0xA874, 0xA877, .punctuation), (0xA8CE, 0xA8CF, .punctuation),
        (0xA8F8, 0xA8FA, .punctuation), (0xA8FC, 0xA8FC, .punctuation), (0xA92E, 0xA92F, .punctuation),
        (0xA95F, 0xA95F, .punctuation), (0xA9C1, 0xA9CD, .punctuation), (0xA9DE, 0xA9DF, .punctuation),
        (0xAA5C, 0xAA5F, .punctuation), (0xAADE, 0xAADF, .punctuation), (0xAAF0, 0xAAF1, .punctuation),
        (0xABEB, 0xABEB, .punctuation), (0xE000, 0xF8FF, .dropped), (0xF900, 0xFAFF, .ideograph),
        (0xFD3E, 0xFD3F, .punctuation), (0xFE10, 0xFE19, .punctuation), (0xFE30, 0xFE52, .punctuation),
        (0xFE54, 0xFE61, .punctuation), (0xFE63, 0xFE63, .punctuation), (0xFE68, 0xFE68, .punctuation),
        (0xFE6A, 0xFE6B, .punctuation), (0xFEFF, 0xFEFF, .dropped), (0xFF01, 0xFF03, .punctuation),
        (0xFF05, 0xFF0A, .punctuation), (0xFF0C, 0xFF0F, .punctuation), (0xFF1A, 0xFF1B, .punctuation),
        (0xFF1F, 0xFF20, .punctuation), (0xFF3B, 0xFF3D, .punctuation), (0xFF3F, 0xFF3F, .punctuation),
        (0xFF5B, 0xFF5B, .punctuation), (0xFF5D, 0xFF5D, .punctuation), (0xFF5F, 0xFF65, .punctuation),
        (0xFFF9, 0xFFFB, .dropped), (0xFFFD, 0xFFFD, .dropped), (0x10100, 0x10102, .punctuation),
        (0x1039F, 0x1039F, .punctuation), (0x103D0, 0x103D0, .punctuation), (0x1056F, 0x1056F, .punctuation),
        (0x10857, 0x10857, .punctuation), (0x1091F, 0x1091F, .punctuation), (0x1093F, 0x1093F, .punctuation),
        (0x10A50, 0x10A58, .punctuation), (0x10A7F, 0x10A7F, .punctuation), (0x10AF0, 0x10AF6, .punctuation),
        (0x10B39, 0x10B3F, .punctuation), (0x10B99, 0x10B9C, .punctuation), (0x11047, 0x1104D, .punctuation),
        (0x110BB, 0x110BC, .punctuation), (0x110BD, 0x110BD, .dropped), (0x110BE, 0x110C1, .punctuation),
        (0x11140, 0x11143, .punctuation), (0x11174, 0x11175, .punctuation), (0x111C5, 0x111C9, .punctuation),
        (0x111CD, 0x111CD, .punctuation), (0x111DB, 0x111DB, .punctuation), (0x111DD, 0x111DF, .punctuation),
        (0x11238, 0x1123D, .punctuation), (0x112A9, 0x112A9, .punctuation), (0x114C6, 0x114C6, .punctuation),
        (0x115C1, 0x115D7, .punctuation), (0x11641, 0x11643, .punctuation), (0x1173C, 0x1173E, .punctuation),
        (0x12470, 0x12474, .punctuation), (0x16A6E, 0x16A6F, .punctuation), (0x16AF5, 0x16AF5, .punctuation),
        (0x16B37, 0x16B3B, .punctuation), (0x16B44, 0x16B44, .punctuation), (0x1BC9F, 0x1BC9F, .punctuation),
        (0x1BCA0, 0x1BCA3, .dropped), (0x1D173, 0x1D17A, .dropped), (0x1DA87, 0x1DA8B, .punctuation),
        (0x20000, 0x2A6DF, .ideograph), (0x2A700, 0x2B81F, .ideograph), (0x2B920, 0x2CEAF, .ideograph),
        (0x2F800, 0x2FA1F, .ideograph), (0xE0001, 0xE0001, .dropped), (0xE0020, 0xE007F, .dropped),
        (0xF0000, 0xFFFFD, .dropped), (0x100000, 0x10FFFD, .dropped),
    ]
}
