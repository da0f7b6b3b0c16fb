import CSQLite
import Crypto
import EmbCacheCore
import Foundation

/// `embcache verify`: checks every row of a cache. Texts: each hash is 64
/// bytes and the SHA-512 of its text. Vectors: 64-byte hashes, blobs of
/// 4 × d bytes, finite values, metadata that matches the file and the
/// rows. SQLite's own integrity_check on every file. With `repair`, bad
/// rows are deleted (a later run computes them again).
enum SQLiteVerifier {
    /// `report` receives one line per problem; `model` limits the check of
    /// vectors to that model's file and lets `repair` rewrite its metadata.
    static func verify(
        directory: String, model: ModelIdentity?, repair: Bool, report: (String) -> Void
    ) throws -> VerificationSummary {
        var summary = VerificationSummary()
        let files = try SQLiteInventory.files(in: directory, model: model)
        let hashstringPath = directory + "/" + SQLiteSchema.hashstringFileName
        let texts = try open(hashstringPath, writable: repair)
        try checkIntegrity(texts, name: SQLiteSchema.hashstringFileName, summary: &summary, report: report)
        try checkTexts(texts, repair: repair, summary: &summary, report: report)
        for file in files {
            let path = directory + "/" + file
            // A file a run is creating (empty, or before its tables) holds
            // nothing to check yet.
            guard SQLiteInventory.fileSize(path) > 0 else { continue }
            let db = try open(path, writable: repair)
            try checkIntegrity(db, name: file, summary: &summary, report: report)
            guard try SQLiteInventory.hasEmbeddingTable(db) else { continue }
            let metadata = try SQLiteSchema.readMetadata(db, path: path)
            try checkVectors(
                db, file: file, metadata: metadata, texts: texts, model: model, repair: repair, summary: &summary,
                report: report)
        }
        return summary
    }

    private static func open(_ path: String, writable: Bool) throws -> SQLiteConnection {
        guard writable else { return try SQLiteInventory.openReadOnly(path) }
        guard SQLiteInventory.fileSize(path) > 0 else {
            throw EmbCacheError.configuration("no cache file at \(path)")
        }
        let db = try SQLiteConnection(path: path)
        sqlite3_busy_timeout(db.handle, 10_000)
        return db
    }

    private static func checkIntegrity(
        _ db: SQLiteConnection, name: String, summary: inout VerificationSummary, report: (String) -> Void
    ) throws {
        let check = try db.prepare("PRAGMA integrity_check")
        while try check.step() {
            guard let line = check.text(at: 0), line != "ok" else { continue }
            summary.problems += 1
            report("\(name): integrity: \(line)")
        }
    }

    private static func checkTexts(
        _ db: SQLiteConnection, repair: Bool, summary: inout VerificationSummary, report: (String) -> Void
    ) throws {
        var bad: [Int] = []
        var rekeyed: [String] = []
        let select = try db.prepare("SELECT rowid, hashid, text FROM hashstring")
        while try select.step() {
            summary.rowsChecked += 1
            let rowid = select.int(at: 0)
            let hashid = select.blob(at: 1).map { Array($0) } ?? []
            guard let text = select.text(at: 2) else {
                bad.append(rowid)
                report("\(SQLiteSchema.hashstringFileName): row \(rowid): no text")
                continue
            }
            let expected = CacheKey(text: text)
            let stored = hashid.withUnsafeBytes { CacheKey(bytes: $0) }
            if stored != expected {
                bad.append(rowid)
                rekeyed.append(text)
                report(
                    "\(SQLiteSchema.hashstringFileName): row \(rowid): "
                        + (stored == nil
                            ? "hash of \(hashid.count) bytes, not 64" : "hash is not the SHA-512 of its text"))
            }
        }
        summary.problems += bad.count
        if repair {
            summary.repaired += try delete(bad, from: "hashstring", in: db)
            // The texts go back under their true hash: a vector stored under
            // that one must not lose its text.
            try db.execute("BEGIN IMMEDIATE")
            let insert = try db.prepare("INSERT OR IGNORE INTO hashstring (hashid, text) VALUES (?1, ?2)")
            for text in rekeyed {
                insert.reset()
                try CacheKey(text: text).withUnsafeBytes { try insert.bind($0, at: 1) }
                try insert.bind(text: text, at: 2)
                try insert.step()
            }
            try db.execute("COMMIT")
        }
    }

    private static func checkVectors(
        _ db: SQLiteConnection, file: String, metadata: [String: String], texts: SQLiteConnection,
        model: ModelIdentity?, repair: Bool, summary: inout VerificationSummary, report: (String) -> Void
    ) throws {
        var dimension = metadata["dimension"].flatMap { Int($0) }
        if let named = metadata["model"], ModelIdentity(canonical: named).fileName != file && model?.canonical != named
        {
            summary.problems += 1
            report(
                "\(file): metadata names model \"\(named)\", whose file is \(ModelIdentity(canonical: named).fileName)")
            if repair, let model, model.fileName == file {
                try rewriteMetadata(db, model: model)
                summary.repaired += 1
            }
        } else if let model, let named = metadata["model"], named != model.canonical {
            // Two identities whose file names collide: not damage, and never
            // relabelled, which would mix their vectors.
            summary.problems += 1
            report("\(file): holds vectors of model \"\(named)\", not \"\(model.canonical)\"")
        }
        // Rows are many and metadata one row: when most rows disagree with
        // the recorded dimension, the record is what is wrong.
        if let rows = try SQLiteStore.commonDimension(db), rows != dimension {
            if let recorded = dimension {
                summary.problems += 1
                report("\(file): metadata says dimension \(recorded), most vectors have \(rows)")
                if repair {
                    try setMetadata(db, key: "dimension", value: String(rows))
                    summary.repaired += 1
                }
            }
            dimension = rows
        }

        var bad: [Int] = []
        let hasText = try texts.prepare("SELECT 1 FROM hashstring WHERE hashid = ?1")
        let checksums = try RowChecksum.Reader(db)
        var badKeys: [CacheKey] = []
        let select = try db.prepare("SELECT rowid, hashid, embedding FROM embedding")
        while try select.step() {
            summary.rowsChecked += 1
            let rowid = select.int(at: 0)
            guard let hashid = select.blob(at: 1), let key = CacheKey(bytes: hashid) else {
                bad.append(rowid)
                report("\(file): row \(rowid): hash of \(select.blob(at: 1)?.count ?? 0) bytes, not 64")
                continue
            }
            let blob = select.blob(at: 2)
            let recorded = try checksums?.recorded(for: key)
            if recorded == nil { summary.vectorsWithoutChecksum += 1 }
            let vector = RowChecksum.checked(
                StoredVector.decode(blob, dimension: dimension), key: key, blob: blob, recorded: recorded)
            if case .invalid(let why) = vector {
                bad.append(rowid)
                badKeys.append(key)
                report("\(file): row \(rowid) (hash \(key.hex.prefix(16))…): \(why)")
                continue
            }
            hasText.reset()
            try key.withUnsafeBytes { try hasText.bind($0, at: 1) }
            if try !hasText.step() { summary.vectorsWithoutText += 1 }
        }
        summary.problems += bad.count
        if repair {
            summary.repaired += try delete(bad, from: "embedding", in: db)
            // A vector stored again later gets a checksum of its own.
            if checksums != nil {
                try deleteChecksums(of: badKeys, in: db)
            }
        }
    }

    private static func deleteChecksums(of keys: [CacheKey], in db: SQLiteConnection) throws {
        let delete = try db.prepare("DELETE FROM \(RowChecksum.table) WHERE key_prefix = ?1")
        try db.execute("BEGIN IMMEDIATE")
        do {
            for key in keys {
                delete.reset()
                try delete.bind(RowChecksum.prefix(of: key), at: 1)
                try delete.step()
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }

    private static func rewriteMetadata(_ db: SQLiteConnection, model: ModelIdentity) throws {
        try setMetadata(db, key: "model", value: model.canonical)
    }

    private static func setMetadata(_ db: SQLiteConnection, key: String, value: String) throws {
        let update = try db.prepare("INSERT OR REPLACE INTO \(SQLiteSchema.metadata) (key, value) VALUES (?1, ?2)")
        try update.bind(text: key, at: 1)
        try update.bind(text: value, at: 2)
        try update.step()
    }

    private static func delete(_ rowids: [Int], from table: String, in db: SQLiteConnection) throws -> Int {
        guard !rowids.isEmpty else { return 0 }
        try db.execute("BEGIN IMMEDIATE")
        do {
            let delete = try db.prepare("DELETE FROM \(table) WHERE rowid = ?1")
            for rowid in rowids {
                delete.reset()
                try delete.bind(rowid, at: 1)
                try delete.step()
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        return rowids.count
    }
}
