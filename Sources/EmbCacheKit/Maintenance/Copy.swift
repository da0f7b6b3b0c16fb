import EmbCacheCore
import EmbCacheStore

/// `embcache copy`: moves vectors and their texts between two caches
/// (SQLite and PostgreSQL, either way). Stores keep the first vector of a
/// key, so running it again after an interruption copies what is missing
/// and changes nothing else.
public enum Copier {
    public struct Summary: Sendable, Equatable {
        public var models = 0
        public var copied = 0
        public var alreadyThere = 0
        public var skipped = 0
    }

    public static func copy(
        from source: CacheStorage, to destination: CacheStorage, model: ModelIdentity?, warn: (String) -> Void
    ) throws -> Summary {
        var summary = Summary()
        var models: [ModelIdentity] = []
        if let model {
            models = [model]
        } else {
            for found in try source.summarize(model: nil).models {
                if let named = found.model {
                    models.append(ModelIdentity(canonical: named))
                } else {
                    // A file of the Python package records no identity.
                    warn("\(source.location): \(found.file) records no model name: copy it with --model NAME")
                    summary.skipped += found.vectors
                }
            }
        }
        for identity in models {
            let reader = try source.readRows(of: identity, withText: true)
            let target = try destination.openModel(
                identity, provider: reader.provider ?? "copy", expectedDimension: reader.dimension)
            summary.models += 1
            while true {
                let rows = try reader.next(limit: 2048)
                if rows.isEmpty { break }
                var entries: [StoreEntry] = []
                for row in rows {
                    guard let key = row.key, case .hit(let vector) = row.vector, let text = row.text,
                        CacheKey(text: text) == key
                    else {
                        summary.skipped += 1
                        warn("\(reader.name): \(unusable(row)): skipped")
                        continue
                    }
                    entries.append(StoreEntry(key: key, text: text, vector: vector))
                }
                var fresh: [StoreEntry] = []
                for (entry, found) in zip(entries, try target.lookup(entries.map(\.key))) {
                    switch found {
                    case .hit: summary.alreadyThere += 1
                    case .miss: fresh.append(entry)
                    case .invalid:
                        var entry = entry
                        entry.replacesInvalid = true
                        fresh.append(entry)
                    }
                }
                try target.insert(fresh)
                summary.copied += fresh.count
            }
        }
        return summary
    }

    private static func unusable(_ row: StoredRow) -> String {
        guard let key = row.key else { return "a row with a hash of \(row.hashBytes) bytes, not 64" }
        if case .invalid(let why) = row.vector { return "vector \(key.hex.prefix(16))… is unusable (\(why))" }
        if row.text == nil { return "vector \(key.hex.prefix(16))… has no text" }
        return "vector \(key.hex.prefix(16))… has a text whose SHA-512 is another"
    }
}
