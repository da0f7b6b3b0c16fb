import EmbCacheCore

/// The tables `embcache import --from-llm` reads from an `llm` embeddings
/// database (`llm embed-multi --store`): `collections (id, name, model)`
/// and `embeddings (id, collection_id, embedding, content)`, whose
/// `embedding` holds little-endian float32 blobs. Read-only; the queries
/// live here, beside the other SQLite queries, and `Importer` checks and
/// stores what they return.
package enum LLMDatabase {
    /// Calls `body` with each row of `collection` in rowid order: its id,
    /// its text (nil when stored without one) and its vector's blob.
    package static func readRows(
        database: String, collection: String,
        _ body: (_ id: String?, _ text: String?, _ blob: UnsafeRawBufferPointer?) throws -> Void
    ) throws {
        let db = try SQLiteInventory.openReadOnly(database)
        let select = try db.prepare(
            """
            SELECT e.id, e.embedding, e.content FROM embeddings e JOIN collections c ON c.id = e.collection_id
            WHERE c.name = ?1 ORDER BY e.rowid
            """)
        try select.bind(text: collection, at: 1)
        while try select.step() {
            try body(select.text(at: 0), select.text(at: 2), select.blob(at: 1))
        }
    }

    /// The collection named, or the only one when no name is given.
    package static func collection(database: String, named wanted: String?) throws -> LLMCollection {
        let db = try SQLiteInventory.openReadOnly(database)
        let list = try db.prepare("SELECT name, model FROM collections ORDER BY name")
        var all: [(name: String, model: String)] = []
        while try list.step() { all.append((list.text(at: 0) ?? "", list.text(at: 1) ?? "")) }
        let names = all.isEmpty ? "it has none" : "it has: " + all.map { "\"\($0.name)\"" }.joined(separator: ", ")
        let found: (name: String, model: String)
        if let wanted {
            guard let match = all.first(where: { $0.name == wanted }) else {
                throw EmbCacheError.configuration("\(database): no collection named \"\(wanted)\" (\(names))")
            }
            found = match
        } else {
            guard all.count == 1 else {
                throw EmbCacheError.usage(
                    "\(database) holds \(all.count) collections: choose one with --collection (\(names))")
            }
            found = all[0]
        }
        let count = try db.prepare(
            """
            SELECT count(*), count(e.content) FROM embeddings e JOIN collections c ON c.id = e.collection_id
            WHERE c.name = ?1
            """)
        try count.bind(text: found.name, at: 1)
        _ = try count.step()
        return LLMCollection(
            name: found.name, model: found.model, rows: Int(count.text(at: 0) ?? "") ?? 0,
            rowsWithText: Int(count.text(at: 1) ?? "") ?? 0)
    }
}

/// An `llm` collection: its name, the model it was embedded with, how
/// many rows it has and how many of them keep their text.
public struct LLMCollection: Sendable, Equatable {
    public var name: String
    public var model: String
    public var rows: Int
    public var rowsWithText: Int
}
