import CSQLite
import EmbCacheCore
import Glibc

/// `gc`, `rm` and `backup` of a cache directory: keeping it tidy and
/// safe. The queries of `SQLiteStorage`, beside the store they maintain.
public enum SQLiteMaintenance {
    /// Deletes the texts no model uses, then reclaims their space. Holds
    /// hashstring's write lock from reading the models' keys to deleting,
    /// so a text a writer is adding with its vector is never taken.
    public static func collectGarbage(directory: String) throws -> CollectedGarbage {
        let path = directory + "/" + SQLiteSchema.hashstringFileName
        guard SQLiteInventory.fileSize(path) > 0 else {
            throw EmbCacheError.configuration("no cache at \(directory)")
        }
        let before = SQLiteInventory.fileSize(path) + SQLiteInventory.fileSize(path + "-wal")
        let empty = try removeEmptyModelFiles(directory)
        let deleted = try deleteUnusedTexts(path, directory: directory)
        // Measured once the connection is closed: the last one to close
        // copies the log into the file and removes it.
        return CollectedGarbage(
            textsDeleted: deleted, bytesBefore: before,
            bytesAfter: SQLiteInventory.fileSize(path) + SQLiteInventory.fileSize(path + "-wal"), emptyModelFiles: empty
        )
    }

    /// Removes model files without a vector that no process has open (a
    /// connection in WAL mode keeps a -shm file beside it) and that no one
    /// has touched for a minute (a file a run is making is younger), each
    /// checked empty under its write lock.
    private static func removeEmptyModelFiles(_ directory: String) throws -> [String] {
        var removed: [String] = []
        let now = time(nil)
        for name in try SQLiteInventory.modelFiles(in: directory) {
            let path = directory + "/" + name
            var status = stat()
            guard stat(path, &status) == 0, now - status.st_mtim.tv_sec > 60,
                access(path + "-shm", F_OK) != 0, access(path + "-wal", F_OK) != 0
            else { continue }
            let db = try SQLiteConnection(path: path)
            sqlite3_busy_timeout(db.handle, 10_000)
            try db.execute("BEGIN IMMEDIATE")
            let hasTable = try SQLiteSchema.tableExists(db, SQLiteSchema.vectors)
            let rows = hasTable ? try db.scalarText("SELECT count(*) FROM embedding").flatMap { Int($0) } ?? 0 : 0
            guard rows == 0 else {
                try db.execute("COMMIT")
                continue
            }
            // Unlinked while the lock is held: a writer waiting for it finds
            // the file gone when it next opens the model.
            for suffix in ["", "-wal", "-shm"] where unlink(path + suffix) != 0 && errno != ENOENT {
                throw EmbCacheError.output(path: path + suffix, errno: errno)
            }
            try? db.execute("ROLLBACK")
            removed.append(name)
        }
        return removed
    }

    private static func deleteUnusedTexts(_ path: String, directory: String) throws -> Int {
        let db = try SQLiteConnection(path: path)
        sqlite3_busy_timeout(db.handle, 10_000)
        var deleted = 0
        try SQLiteStore.retryingWhileBusy {
            try db.execute("BEGIN IMMEDIATE")
            do {
                try SQLiteInventory.collectUsedKeys(into: db, directory: directory)
                try db.execute("DELETE FROM main.hashstring WHERE hashid NOT IN (SELECT hashid FROM temp.used)")
                deleted = db.changes
                try db.execute("DROP TABLE temp.used")
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
        // A passive checkpoint only: one that waits for readers to truncate
        // the log would fight a Litestream replicating the file.
        try SQLiteStore.retryingWhileBusy {
            try db.execute("VACUUM")
            _ = try db.scalarText("PRAGMA wal_checkpoint(PASSIVE)")
        }
        return deleted
    }

    /// Removes one model's file (its texts stay until `gc`). Returns the
    /// number of vectors it held.
    public static func removeModel(directory: String, model: ModelIdentity) throws -> Int {
        let found = try SQLiteInventory.summarize(directory: directory, model: model).only(model, at: directory)
        let path = directory + "/" + model.fileName
        // The database first: while it stands, its log must stand too.
        for suffix in ["", "-wal", "-shm"] where unlink(path + suffix) != 0 && errno != ENOENT {
            throw EmbCacheError.output(path: path + suffix, errno: errno)
        }
        return found.vectors
    }

    /// A consistent copy of every cache file into `destination`, through
    /// SQLite's online backup API: each file is copied from one read
    /// snapshot while other processes go on writing. Model files are copied
    /// before hashstring, so every vector's text is in the copy.
    public static func backup(directory: String, to destination: String) throws -> [String] {
        let models = try SQLiteInventory.modelFiles(in: directory)
        let names = models + [SQLiteSchema.hashstringFileName]
        try CacheDirectory.create(destination)
        for name in names where SQLiteInventory.fileSize(destination + "/" + name) > 0 {
            throw EmbCacheError.configuration("\(destination)/\(name) exists: back up into a new or empty directory")
        }
        for name in names {
            let source = try SQLiteInventory.openReadOnly(directory + "/" + name)
            let target = destination + "/" + name
            CacheDirectory.createPrivateFile(target)
            let copy = try SQLiteConnection(path: target)
            guard let backup = sqlite3_backup_init(copy.handle, "main", source.handle, "main") else {
                throw copy.error(sqlite3_errcode(copy.handle), sql: nil)
            }
            var code: Int32
            repeat {
                code = sqlite3_backup_step(backup, -1)
                if code == SQLITE_BUSY || code == SQLITE_LOCKED { usleep(20_000) }
            } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
            sqlite3_backup_finish(backup)
            if code != SQLITE_DONE { throw copy.error(code, sql: nil) }
        }
        return names
    }
}
