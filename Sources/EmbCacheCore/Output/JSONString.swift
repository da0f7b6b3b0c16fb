/// Appends `text` as a JSON string: quotes, backslashes and control
/// characters escaped, everything else as its UTF-8 bytes.
package func appendJSONString(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    appendJSONStringContents(text.utf8, to: &out)
    out.append(UInt8(ascii: "\""))
}

/// Appends UTF-8 bytes as the inside of a JSON string. Only ASCII bytes
/// are escaped, so a text may be cut anywhere and escaped piece by piece.
func appendJSONStringContents<Bytes: Sequence<UInt8>>(_ bytes: Bytes, to out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        default: out.append(byte)
        }
    }
}

/// Builds a JSON object member by member, strings escaped as records are.
package struct JSONObjectBuilder {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    package init() {}

    package mutating func add(_ key: String, raw value: [UInt8]) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        appendJSONString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: value)
    }

    package mutating func add(_ key: String, _ value: String) {
        var encoded: [UInt8] = []
        appendJSONString(value, to: &encoded)
        add(key, raw: encoded)
    }

    package mutating func add(_ key: String, _ value: Int) { add(key, raw: Array(String(value).utf8)) }

    package mutating func add(_ key: String, _ value: Bool) { add(key, raw: Array((value ? "true" : "false").utf8)) }

    package mutating func add(_ key: String, _ values: [String]) {
        var encoded: [UInt8] = [UInt8(ascii: "[")]
        for (index, value) in values.enumerated() {
            if index > 0 { encoded.append(UInt8(ascii: ",")) }
            appendJSONString(value, to: &encoded)
        }
        encoded.append(UInt8(ascii: "]"))
        add(key, raw: encoded)
    }

    package func finished() -> [UInt8] { bytes + [UInt8(ascii: "}")] }

    package static func array(_ elements: [[UInt8]]) -> [UInt8] {
        [UInt8(ascii: "[")] + Array(elements.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "]")]
    }
}
