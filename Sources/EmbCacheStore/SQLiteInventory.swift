import CSQLite
import EmbCacheCore
import Foundation
import Glibc

/// Reads what a cache directory holds, without changing anything: the
/// queries of `stats` and `models`, and the scans gc, verify and backups
/// share.
public enum SQLiteInventory {
    /// The model files of a cache directory, by name.
    package static func modelFiles(in directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            throw EmbCacheError.configuration("no cache at \(directory): \(systemMessage(errno))")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix("embedding-") && name.hasSuffix(".sqlite") { names.append(name) }
        }
        return names.sorted()
    }

    /// The file name a model selection means, checked to exist.
    package static func files(in directory: String, model: ModelIdentity?) throws -> [String] {
        let all = try modelFiles(in: directory)
        guard let model else { return all }
        guard all.contains(model.fileName) else {
            throw EmbCacheError.configuration("no vectors of model \"\(model.canonical)\" in \(directory)")
        }
        return [model.fileName]
    }

    public static func summarize(directory: String, model: ModelIdentity? = nil) throws -> CacheSummary {
        let names = try files(in: directory, model: model)
        var models: [ModelFileSummary] = []
        for name in names {
            let path = directory + "/" + name
            let db = try openReadOnly(path)
            let metadata = try SQLiteSchema.readMetadata(db, path: path)
            let count =
                try hasEmbeddingTable(db)
                ? try db.scalarText("SELECT count(*) FROM embedding").flatMap { Int($0) } ?? 0 : 0
            // A file that holds no vector is a leftover (gc removes it), not a model.
            if count == 0 && model == nil { continue }
            models.append(
                ModelFileSummary(
                    file: name, model: metadata["model"],
                    dimension: try metadata["dimension"].flatMap { Int($0) } ?? SQLiteStore.commonDimension(db),
                    dtype: metadata["dtype"] ?? "float32", provider: metadata["provider"], vectors: count,
                    bytes: fileSize(path) + fileSize(path + "-wal")))
        }
        let hashstring = directory + "/" + SQLiteSchema.hashstringFileName
        var texts = 0
        var unused = 0
        if fileSize(hashstring) > 0 {
            let db = try openReadOnly(hashstring)
            texts = try db.scalarText("SELECT count(*) FROM hashstring").flatMap { Int($0) } ?? 0
            try collectUsedKeys(into: db, directory: directory)
            unused =
                try db.scalarText(
                    "SELECT count(*) FROM hashstring WHERE hashid NOT IN (SELECT hashid FROM temp.used)"
                ).flatMap { Int($0) } ?? 0
        }
        return CacheSummary(
            directory: directory, textStore: SQLiteSchema.hashstringFileName, models: models, texts: texts,
            textBytes: fileSize(hashstring) + fileSize(hashstring + "-wal"), unusedTexts: unused)
    }

    /// Fills `temp.used` of `connection` with the key of every vector of
    /// every model file, read through connections of their own (so that
    /// the caller may hold a write transaction on hashstring meanwhile).
    static func collectUsedKeys(into connection: SQLiteConnection, directory: String) throws {
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS used (hashid BLOB PRIMARY KEY) WITHOUT ROWID")
        let insert = try connection.prepare("INSERT OR IGNORE INTO temp.used (hashid) VALUES (?1)")
        for name in try modelFiles(in: directory) {
            let model = try openReadOnly(directory + "/" + name)
            guard try hasEmbeddingTable(model) else { continue }
            let select = try model.prepare("SELECT hashid FROM embedding")
            while try select.step() {
                guard let key = select.blob(at: 0) else { continue }
                insert.reset()
                try insert.bind(key, at: 1)
                try insert.step()
            }
        }
    }

    /// False for a model file that a writer is creating: empty, or not yet
    /// given its tables (they come in one transaction). It holds no vector,
    /// so it uses no text.
    static func hasEmbeddingTable(_ db: SQLiteConnection) throws -> Bool {
        try SQLiteSchema.tableExists(db, SQLiteSchema.vectors)
    }

    static func openReadOnly(_ path: String) throws -> SQLiteConnection {
        do {
            let db = try SQLiteConnection(path: path, readOnly: true)
            sqlite3_busy_timeout(db.handle, 10_000)
            _ = try db.scalarText("SELECT count(*) FROM sqlite_master")
            return db
        } catch EmbCacheError.store(_, _, let message, _) {
            throw EmbCacheError.unusableCache(path: path, reason: "cannot be opened as a cache: \(message)")
        }
    }

    package static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}
