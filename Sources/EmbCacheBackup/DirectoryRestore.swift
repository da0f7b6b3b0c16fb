import CSQLite
import EmbCacheCore
import EmbCacheStore
import Foundation
import Glibc

/// `embcache restore DIR`: puts back what `embcache backup DIR` wrote. A
/// directory backup has no manifest, so its checks are the ones it allows:
/// hashstring.sqlite is there (`backup` writes it last, so a backup cut off
/// halfway has none), and every file, copied into a staging folder through
/// SQLite's online backup, is a cache file that passes SQLite's
/// integrity_check. Only then does the copy take the place of the cache,
/// under the rules of the S3 restore: a directory that holds a cache is
/// replaced only with `force`, and ends up holding the backup exactly, or
/// the cache it held.
public enum DirectoryRestore {
    /// Restores `source` into `directory`; returns the names of the files
    /// restored. The backup is only read, and nothing is left in it.
    public static func restore(from source: String, into directory: String, force: Bool) throws -> [String] {
        var info = stat()
        guard stat(source, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw EmbCacheError.corruptBackup(location: source, message: "no backup here: not a directory")
        }
        if sameFile(source, directory) {
            throw EmbCacheError.usage("\(source) is the cache directory itself: restore from a backup elsewhere")
        }
        guard access(source + "/" + SQLiteSchema.hashstringFileName, F_OK) == 0 else {
            let found = try SQLiteInventory.modelFiles(in: source)
            throw EmbCacheError.corruptBackup(
                location: source,
                message: found.isEmpty
                    ? "no backup here"
                    : "no \(SQLiteSchema.hashstringFileName) beside \(found.count) model files: a backup that did not finish"
            )
        }
        let existing = try RestoreSwap.existingCache(in: directory, force: force)
        let staging = directory + "/.restore-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let names = try SQLiteMaintenance.backup(directory: source, to: staging)
        for name in names { try check(staging + "/" + name, name: name, backup: source) }
        // Every cache file goes aside, so the directory ends up holding the
        // backup exactly.
        try RestoreSwap.swap(staging: staging, names: names, into: directory, replacing: existing)
        return names
    }

    /// A staged file: SQLite's integrity check, and the table a cache file
    /// of its kind must have.
    private static func check(_ path: String, name: String, backup: String) throws {
        let table = name == SQLiteSchema.hashstringFileName ? "hashstring" : "embedding"
        let verdict: String?
        do {
            let db = try SQLiteConnection(path: path)
            verdict =
                try db.scalarText("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(table)'")
                == "1" ? try db.scalarText("PRAGMA integrity_check") : "no table \(table)"
            db.close()
        } catch EmbCacheError.store(_, _, let message, _) {
            verdict = message
        }
        guard verdict == "ok" else {
            throw EmbCacheError.corruptBackup(
                location: backup, message: "\(name) is not a sound cache file: \(verdict ?? "unreadable")")
        }
    }

    private static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat()
        var second = stat()
        return stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_dev == second.st_dev
            && first.st_ino == second.st_ino
    }
}
