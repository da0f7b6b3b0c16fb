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
        directory: String, model: ModelIdentity, writer: RecordWriter, withText: Bool, warn: (String) -> Void
    ) throws -> Summary {
        let name = try CacheInventory.files(in: directory, model: model)[0]
        let db = try CacheInventory.openReadOnly(directory + "/" + name)
        let metadata = try SQLiteStore.readMetadata(db)
        if let named = metadata["model"], named != model.canonical {
            throw EmbCacheError.unusableCache(
                path: directory + "/" + name, reason: "holds vectors of model \"\(named)\", not \"\(model.canonical)\"")
        }
        let dimension = try metadata["dimension"].flatMap { Int($0) } ?? SQLiteStore.commonDimension(db)
        let hashstring = directory + "/" + SQLiteStore.hashstringFileName
        let texts = withText ? try CacheInventory.openReadOnly(hashstring) : nil
        let textOf = try texts?.prepare("SELECT text FROM hashstring WHERE hashid = ?1")

        // One read transaction: a consistent snapshot while writers go on.
        try db.execute("BEGIN")
        defer { try? db.execute("COMMIT") }
        let select = try db.prepare("SELECT hashid, embedding FROM embedding ORDER BY rowid")
        var summary = Summary()
        var rows: [OutputRow] = []
        while try select.step() {
            guard let hashid = select.blob(at: 0), let key = CacheKey(bytes: hashid) else {
                summary.skipped += 1
                warn("\(name): a row with a hash of \(select.blob(at: 0)?.count ?? 0) bytes, not 64: skipped")
                continue
            }
            guard case .hit(let vector) = StoredVector.decode(select.blob(at: 1), dimension: dimension) else {
                if case .invalid(let why) = StoredVector.decode(select.blob(at: 1), dimension: dimension) {
                    warn("\(name): vector \(key.hex.prefix(16))… is unusable (\(why)): skipped")
                }
                summary.skipped += 1
                continue
            }
            var record: [UInt8] = []
            if let textOf {
                textOf.reset()
                try key.withUnsafeBytes { try textOf.bind($0, at: 1) }
                guard try textOf.step(), let text = textOf.text(at: 0) else {
                    summary.skipped += 1
                    warn(
                        "\(name): vector \(key.hex.prefix(16))… has no text in \(SQLiteStore.hashstringFileName): skipped"
                    )
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
            if rows.count == 1024 {
                try writer.write(rows)
                rows.removeAll(keepingCapacity: true)
            }
        }
        try writer.write(rows)
        try writer.finish(dimension: dimension)
        return summary
    }
}
