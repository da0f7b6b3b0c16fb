import EmbCacheCore

/// A provider's error answer as a person reads it in one line of stderr:
/// the message its API's error shape holds, else the body's own text (JSON
/// as JSON, anything else as it came), whitespace folded, the key taken
/// out, cut short.
enum ErrorBody {
    /// Characters of the provider's text a message keeps.
    static let longest = 300

    /// `message` is what the API's error shape says, if it has one.
    static func text(_ body: [UInt8], document: JSONValue?, message: String?, redactor: KeyRedactor?) -> String? {
        guard
            let raw = message ?? document?.jsonText
                ?? (body.isEmpty ? nil : String(decoding: body.prefix(64 << 10), as: UTF8.self))
        else { return nil }
        // Folded and cut a little past the length first, to bound the work;
        // redacted; then cut to length (which can only shorten what is left
        // of the key below the shortest run worth hiding).
        var folded = String.UnicodeScalarView()
        var count = 0
        var space = false
        for scalar in raw.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                space = count > 0
                continue
            }
            if space { folded.append(" ") }
            space = false
            folded.append(scalar)
            count += 1
            if count > longest + 2 * KeyRedactor.shortestRun { break }
        }
        var text = String(folded)
        if let redactor { text = redactor.redact(text) }
        guard text.unicodeScalars.count > longest else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(longest))) + "…"
    }
}

extension JSONValue {
    /// Compact JSON, members in key order: a provider's error detail as
    /// the provider wrote it, not as Swift describes an enum.
    var jsonText: String {
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .number(let value): out += Array(Self.numberText(value).utf8)
        case .string(let value): appendJSONString(value, to: &out)
        case .numbers(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += Array(Self.numberText(Double(value)).utf8)
            }
            out.append(UInt8(ascii: "]"))
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func numberText(_ value: Double) -> String {
        if let exact = Int64(exactly: value), abs(exact) < 1 << 53 { return String(exact) }
        return value.isFinite ? "\(value)" : "null"
    }
}
