import EmbCacheCore
import EmbCacheProviders
import EmbCacheStore
import Foundation

/// `embcache import`: vectors computed elsewhere, into one model's cache.
/// Every vector is checked (dimension, finite values) and nothing already
/// cached is replaced, so importing twice changes nothing.
public enum Importer {
    public struct Summary: Sendable, Equatable {
        /// Vectors stored by this import.
        public var imported = 0
        /// Texts whose vector was cached already (kept as it was).
        public var alreadyCached = 0
        /// Records refused, each reported with its reason.
        public var skipped = 0
    }

    /// One vector to import, or why its record can't be.
    struct Item: Sendable {
        var location: String
        var content: Result<(text: String, vector: [Float]), InputProblem>
    }

    /// Imports JSON Lines records `{"text": …, "embedding": [...] or
    /// "base64"}` (field names configurable) from the inputs.
    public static func importJSONLines(
        inputs: [String], into store: VectorStore, textField: String, vectorField: String, maxLineBytes: Int,
        warn: @escaping (String) -> Void
    ) throws -> Summary {
        let textPath = textField.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        let vectorPath = vectorField.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        var summary = Summary()
        var window: [Line] = []
        func flush() throws {
            let items = window.concurrentMap { line in
                Item(
                    location: line.location.description,
                    content: Result { () throws(InputProblem) in
                        try decode(
                            line, textPath: textPath, vectorPath: vectorPath, names: (textField, vectorField),
                            maxLineBytes: maxLineBytes)
                    })
            }
            try storeWindow(items, into: store, summary: &summary, warn: warn)
            window.removeAll(keepingCapacity: true)
        }
        for input in inputs {
            let reader = try LineReader.open(path: input, maxLineBytes: maxLineBytes)
            while let line = try reader.next() {
                if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) && !line.tooLong { continue }
                window.append(line)
                if window.count == 1024 { try flush() }
            }
        }
        try flush()
        return summary
    }

    /// Imports the stored texts and vectors of one collection of an `llm`
    /// embeddings database (`llm embed-multi --store`, see `LLMDatabase`).
    public static func importLLM(
        database: String, collection: String, into store: VectorStore, warn: @escaping (String) -> Void
    ) throws -> Summary {
        var summary = Summary()
        var items: [Item] = []
        try LLMDatabase.readRows(database: database, collection: collection) { id, text, blob in
            let location = "\(database): collection \(collection), id \(id ?? "?")"
            guard let text else {
                items.append(Item(location: location, content: .failure(.missingField("content"))))
                return
            }
            switch StoredVector.decode(blob, dimension: nil) {
            case .hit(let vector): items.append(Item(location: location, content: .success((text, vector))))
            case .invalid(let why): items.append(Item(location: location, content: .failure(.invalidVector(why))))
            case .miss: break
            }
            if items.count == 1024 {
                try storeWindow(items, into: store, summary: &summary, warn: warn)
                items.removeAll(keepingCapacity: true)
            }
        }
        try storeWindow(items, into: store, summary: &summary, warn: warn)
        return summary
    }

    /// The collection named, or the only one when no name is given.
    public static func llmCollection(database: String, named wanted: String?) throws -> LLMCollection {
        try LLMDatabase.collection(database: database, named: wanted)
    }

    private static func decode(
        _ line: Line, textPath: [[UInt8]], vectorPath: [[UInt8]], names: (text: String, vector: String),
        maxLineBytes: Int
    ) throws(InputProblem) -> (text: String, vector: [Float]) {
        if line.tooLong { throw .lineTooLong(limit: maxLineBytes) }
        guard String(validating: line.bytes, as: UTF8.self) != nil else {
            throw .invalidUTF8(byteOffset: firstInvalidUTF8Offset(line.bytes))
        }
        let scanned: JSONScanner.Result
        do {
            scanned = try line.bytes.withUnsafeBufferPointer { bytes throws(JSONScanner.Failure) in
                try JSONScanner.scan(bytes, paths: [textPath, vectorPath], outputField: nil)
            }
        } catch {
            throw .invalidJSON(error.message)
        }
        guard scanned.isObject else { throw .notAnObject }
        guard let textValue = scanned.found[0] else { throw .missingField(names.text) }
        guard case .string(let text) = textValue else { throw .fieldNotString(names.text, found: textValue.typeName) }
        if text.isEmpty { throw .emptyText }
        switch scanned.found[1] {
        case nil: throw .missingField(names.vector)
        case .numbers(let vector): return (text, vector)
        case .string(let base64):
            guard let data = Data(base64Encoded: base64), data.count % 4 == 0, !data.isEmpty else {
                throw .invalidVector("\"\(names.vector)\" is not base64 of float32 values")
            }
            return (
                text,
                data.withUnsafeBytes { raw in
                    (0..<(data.count / 4)).map {
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))
                        )
                    }
                }
            )
        case .other(let type)?:
            throw .invalidVector("\"\(names.vector)\" is \(type), not an array of numbers or base64")
        }
    }

    /// Checks a window of items and stores the good ones in one
    /// transaction; what the store holds already is left as it is.
    private static func storeWindow(
        _ items: [Item], into store: VectorStore, summary: inout Summary, warn: (String) -> Void
    ) throws {
        var entries: [CacheKey: StoreEntry] = [:]
        var order: [CacheKey] = []
        for item in items {
            switch item.content {
            case .failure(let problem):
                warn("\(item.location): \(problem): skipped")
                summary.skipped += 1
            case .success(let (text, vector)):
                if let expected = store.dimension ?? order.first.flatMap({ entries[$0]?.vector.count }),
                    vector.count != expected
                {
                    warn(
                        "\(item.location): \(InputProblem.invalidVector("\(vector.count) dimensions, expected \(expected)")): skipped"
                    )
                    summary.skipped += 1
                } else if let builtIn = HashEmbedder.dimension(forModel: store.identity.name).map(HashEmbedder.init),
                    builtIn.vector(for: text) != vector
                {
                    // A hash-<d> file holds the built-in's vectors, nothing else.
                    warn(
                        "\(item.location): \(InputProblem.invalidVector("not the \(store.identity.name) vector of its text")): skipped"
                    )
                    summary.skipped += 1
                } else if vector.isEmpty || !vector.allSatisfy(\.isFinite) {
                    warn(
                        "\(item.location): \(InputProblem.invalidVector(vector.isEmpty ? "empty vector" : "NaN or infinity")): skipped"
                    )
                    summary.skipped += 1
                } else {
                    // The first vector of a text wins, within a window as
                    // across windows (where the cache keeps the first).
                    let key = CacheKey(text: text)
                    if entries[key] == nil {
                        entries[key] = StoreEntry(key: key, text: text, vector: vector)
                        order.append(key)
                    } else {
                        summary.alreadyCached += 1
                    }
                }
            }
        }
        var fresh: [StoreEntry] = []
        for (key, found) in zip(order, try store.lookup(order)) {
            switch found {
            case .hit: summary.alreadyCached += 1
            case .miss: fresh.append(entries[key]!)
            case .invalid:
                var entry = entries[key]!
                entry.replacesInvalid = true
                fresh.append(entry)
            }
        }
        try store.insert(fresh)
        summary.imported += fresh.count
    }
}
