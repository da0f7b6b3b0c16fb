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
        // A large row is left out of its run's buffer and written on its
        // own, from the record's bytes: copying it would hold it twice.
        let encoder = self.encoder
        let runs = stride(from: 0, to: rows.count, by: 64).map { $0..<min($0 + 64, rows.count) }
        let chunks = runs.concurrentMap(minimumCount: 2) { run in
            var chunk = EncodedRun()
            chunk.bytes.reserveCapacity(run.count * 4096)
            for index in run {
                if encoder.isLarge(rows[index]) {
                    chunk.large.append((chunk.bytes.count, index))
                } else {
                    encoder.encode(rows[index], into: &chunk.bytes)
                }
            }
            return chunk
        }
        for chunk in chunks {
            try chunk.bytes.withUnsafeBytes { bytes in
                var written = 0
                for (offset, index) in chunk.large {
                    try sink.write(UnsafeRawBufferPointer(rebasing: bytes[written..<offset]))
                    written = offset
                    try encoder.write(rows[index], to: sink)
                }
                try sink.write(UnsafeRawBufferPointer(rebasing: bytes[written...]))
            }
        }
    }

    public func finish(dimension: Int?) throws {
        try sink.flush()
    }
}

/// A run of rows encoded: their bytes, and where each large row, written
/// on its own, goes between them.
private struct EncodedRun: Sendable {
    var bytes: [UInt8] = []
    var large: [(offset: Int, row: Int)] = []
}

/// Formats one record; shared by the workers of one window.
struct JSONRecordEncoder: Sendable {
    let fieldPrefix: [UInt8]
    let encoding: JSONLinesWriter.Encoding
    let normalize: Bool
    let linesInput: Bool

    /// Rows over a megabyte are written in pieces.
    static let largeRow = 1 << 20

    func isLarge(_ row: OutputRow) -> Bool {
        let text = row.text?.utf8.count ?? 0
        return (linesInput ? text : row.bytes.count + (row.textOffset == nil ? 0 : text)) > Self.largeRow
    }

    func encode(_ row: OutputRow, into out: inout [UInt8]) {
        if linesInput {
            out.append(contentsOf: "{\"text\":".utf8)
            if let text = row.text { appendJSONString(text, to: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(UInt8(ascii: ","))
        } else {
            let close = row.bytes.lastIndex(of: UInt8(ascii: "}")) ?? row.bytes.endIndex
            if let offset = row.textOffset, var text = row.text {
                out.append(contentsOf: row.bytes[..<offset])
                text.withUTF8 { out.append(contentsOf: $0) }
                out.append(contentsOf: row.bytes[offset..<max(offset, close)])
            } else {
                out.append(contentsOf: row.bytes[..<close])
            }
            if !row.isEmptyObject { out.append(UInt8(ascii: ",")) }
        }
        encodeField(row, into: &out)
    }

    /// As `encode`, straight to the sink: the record's bytes and text as
    /// they are, a text of --input lines escaped a megabyte at a time, so
    /// no copy as large as the row is made.
    func write(_ row: OutputRow, to sink: ByteSink) throws {
        var out: [UInt8] = []
        if linesInput {
            out.append(contentsOf: "{\"text\":".utf8)
            if var text = row.text {
                out.append(UInt8(ascii: "\""))
                try text.withUTF8 { bytes in
                    for start in stride(from: 0, to: bytes.count, by: Self.largeRow) {
                        appendJSONStringContents(bytes[start..<min(start + Self.largeRow, bytes.count)], to: &out)
                        try sink.write(out)
                        out.removeAll(keepingCapacity: true)
                    }
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: "null".utf8)
            }
            out.append(UInt8(ascii: ","))
        } else {
            let close = row.bytes.lastIndex(of: UInt8(ascii: "}")) ?? row.bytes.endIndex
            try row.bytes.withUnsafeBytes { bytes in
                if let offset = row.textOffset, var text = row.text {
                    try sink.write(UnsafeRawBufferPointer(rebasing: bytes[..<offset]))
                    try text.withUTF8 { try sink.write(UnsafeRawBufferPointer($0)) }
                    try sink.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<max(offset, close)]))
                } else {
                    try sink.write(UnsafeRawBufferPointer(rebasing: bytes[..<close]))
                }
            }
            if !row.isEmptyObject { out.append(UInt8(ascii: ",")) }
        }
        encodeField(row, into: &out)
        try sink.write(out)
    }

    /// The added field and what follows it to the end of the line.
    private func encodeField(_ row: OutputRow, into out: inout [UInt8]) {
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

/// `[a,b,…]` with each float in its shortest round-trip form.
package func appendJSONNumbers(_ values: [Float], to out: inout [UInt8]) {
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
package func appendBase64(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
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
