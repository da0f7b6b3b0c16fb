import Foundation

/// jsonl and base64 output: each record byte for byte, with one field
/// added before its closing brace. With `--input lines` the record is
/// `{"text": …}`.
public final class JSONLinesWriter: RecordWriter {
    public enum Encoding: Sendable {
        case numbers
        case base64
    }

    private let sink: ByteSink
    private let encoder: JSONRecordEncoder

    public init(sink: ByteSink, field: String, encoding: Encoding, normalize: Bool, linesInput: Bool) {
        self.sink = sink
        var prefix: [UInt8] = []
        appendJSONString(field, to: &prefix)
        prefix.append(UInt8(ascii: ":"))
        encoder = JSONRecordEncoder(
            fieldPrefix: prefix, encoding: encoding, normalize: normalize, linesInput: linesInput)
    }

    public func write(_ rows: [OutputRow]) throws {
        // Number formatting is the hot loop of a warm run: spread it over
        // the cores in runs of rows, each into one buffer, written in order.
        let encoder = self.encoder
        let runs = stride(from: 0, to: rows.count, by: 64).map { $0..<min($0 + 64, rows.count) }
        let chunks = runs.concurrentMap(minimumCount: 2) { run in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(run.count * 4096)
            for index in run { encoder.encode(rows[index], into: &bytes) }
            return bytes
        }
        for chunk in chunks { try sink.write(chunk) }
    }

    public func finish(dimension: Int?) throws {
        try sink.flush()
    }
}

/// Formats one record; shared by the workers of one window.
struct JSONRecordEncoder: Sendable {
    let fieldPrefix: [UInt8]
    let encoding: JSONLinesWriter.Encoding
    let normalize: Bool
    let linesInput: Bool

    func encode(_ row: OutputRow, into out: inout [UInt8]) {
        if linesInput {
            out.append(contentsOf: "{\"text\":".utf8)
            if let text = row.text { appendJSONString(text, to: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(UInt8(ascii: ","))
        } else {
            let close = row.bytes.lastIndex(of: UInt8(ascii: "}")) ?? row.bytes.endIndex
            out.append(contentsOf: row.bytes[..<close])
            if !row.isEmptyObject { out.append(UInt8(ascii: ",")) }
        }
        out.append(contentsOf: fieldPrefix)
        if let vector = row.vector {
            let values = outputVector(vector, normalize: normalize)
            switch encoding {
            case .numbers: appendJSONNumbers(values, to: &out)
            case .base64:
                out.append(UInt8(ascii: "\""))
                littleEndianBytes(values) { appendBase64($0, to: &out) }
                out.append(UInt8(ascii: "\""))
            }
        } else {
            out.append(contentsOf: "null".utf8)
        }
        if linesInput {
            out.append(UInt8(ascii: "}"))
        } else {
            let close = row.bytes.lastIndex(of: UInt8(ascii: "}")) ?? row.bytes.endIndex
            out.append(contentsOf: row.bytes[close...])
        }
        out.append(0x0A)
    }
}

/// A pointer handed to concurrent workers that each write their own slot.
struct UnsafeSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// `[a,b,…]` with each float in its shortest round-trip form.
func appendJSONNumbers(_ values: [Float], to out: inout [UInt8]) {
    out.append(UInt8(ascii: "["))
    for (index, value) in values.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        var text = value.description
        text.withUTF8 { out.append(contentsOf: $0) }
    }
    out.append(UInt8(ascii: "]"))
}

private let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

/// Standard base64 with padding.
func appendBase64(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    var index = 0
    while index + 3 <= bytes.count {
        let word = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
        out.append(base64Alphabet[Int(word >> 18 & 63)])
        out.append(base64Alphabet[Int(word >> 12 & 63)])
        out.append(base64Alphabet[Int(word >> 6 & 63)])
        out.append(base64Alphabet[Int(word & 63)])
        index += 3
    }
    let rest = bytes.count - index
    if rest > 0 {
        let word = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
        out.append(base64Alphabet[Int(word >> 18 & 63)])
        out.append(base64Alphabet[Int(word >> 12 & 63)])
        out.append(rest == 2 ? base64Alphabet[Int(word >> 6 & 63)] : UInt8(ascii: "="))
        out.append(UInt8(ascii: "="))
    }
}
