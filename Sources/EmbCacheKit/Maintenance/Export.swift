import EmbCacheCore
import EmbCacheStore

/// `embcache export`: every vector of one model, as stored (never
/// normalised), in the order the rows were written.
public enum Exporter {
    public struct Summary: Sendable, Equatable {
        public var exported = 0
        public var skipped = 0
    }

    /// Streams the rows through `writer`, a window at a time. With
    /// `withText`, each jsonl record carries its text; otherwise the hex of
    /// its SHA-512 (texts may be private).
    public static func export(
        from storage: CacheStorage, model: ModelIdentity, writer: RecordWriter, withText: Bool,
        warn: (String) -> Void
    ) throws -> Summary {
        let reader = try storage.readRows(of: model, withText: withText)
        let name = reader.name
        var summary = Summary()
        while true {
            let chunk = try reader.next(limit: 1024)
            if chunk.isEmpty { break }
            var rows: [OutputRow] = []
            rows.reserveCapacity(chunk.count)
            for row in chunk {
                guard let key = row.key else {
                    summary.skipped += 1
                    warn("\(name): a row with a hash of \(row.hashBytes) bytes, not 64: skipped")
                    continue
                }
                guard case .hit(let vector) = row.vector else {
                    if case .invalid(let why) = row.vector {
                        warn("\(name): vector \(key.hex.prefix(16))… is unusable (\(why)): skipped")
                    }
                    summary.skipped += 1
                    continue
                }
                var record: [UInt8] = []
                if withText {
                    guard let text = row.text else {
                        summary.skipped += 1
                        warn("\(name): vector \(key.hex.prefix(16))… has no text: skipped")
                        continue
                    }
                    record.append(contentsOf: "{\"text\":".utf8)
                    appendJSONString(text, to: &record)
                } else {
                    record.append(contentsOf: "{\"hash\":\"\(key.hex)\"".utf8)
                }
                record.append(UInt8(ascii: "}"))
                rows.append(OutputRow(bytes: record, isEmptyObject: false, text: nil, vector: vector))
                summary.exported += 1
            }
            try writer.write(rows)
        }
        try writer.finish(dimension: reader.dimension)
        return summary
    }
}
