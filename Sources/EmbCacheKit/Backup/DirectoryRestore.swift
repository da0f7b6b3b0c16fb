import CSQLite
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        guard access(source + "/" + SQLiteStore.hashstringFileName, F_OK) == 0 else {
            let found = try CacheInventory.modelFiles(in: source)
            throw EmbCacheError.corruptBackup(
                location: source,
                message: found.isEmpty
                    ? "no backup here"
                    : "no \(SQLiteStore.hashstringFileName) beside \(found.count) model files: a backup that did not finish"
            )
        }
        try CacheDirectory.create(directory)
        let existing = try cacheFiles(in: directory)
        if !force && !existing.isEmpty {
            throw EmbCacheError.configuration(
                "\(directory) holds a cache: restore into an empty directory, or give --force to replace it")
        }
        let staging = directory + "/.restore-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let names = try Housekeeping.backup(directory: source, to: staging)
        for name in names { try check(staging + "/" + name, name: name, backup: source) }
        try swap(staging: staging, names: names, into: directory, existing: existing)
        return names
    }

    /// A staged file: SQLite's integrity check, and the table a cache file
    /// of its kind must have.
    private static func check(_ path: String, name: String, backup: String) throws {
        let table = name == SQLiteStore.hashstringFileName ? "hashstring" : "embedding"
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

    /// The old cache aside (logs with it, never deleted while it may be put
    /// back), then the new files in, hashstring last so that no vector is
    /// ever without its text; on failure, the old cache back.
    private static func swap(staging: String, names: [String], into directory: String, existing: [String]) throws {
        let aside = directory + "/.replaced-\(UUID())"
        try CacheDirectory.create(aside)
        defer { try? FileManager.default.removeItem(atPath: aside) }
        var movedAside: [String] = []
        var movedIn: [String] = []
        do {
            for name in existing {
                try move(directory + "/" + name, to: aside + "/" + name)
                movedAside.append(name)
            }
            let isTexts = { (name: String) in name == SQLiteStore.hashstringFileName }
            for name in names.filter({ !isTexts($0) }) + names.filter(isTexts) {
                try move(staging + "/" + name, to: directory + "/" + name)
                movedIn.append(name)
            }
        } catch {
            for name in movedIn { unlink(directory + "/" + name) }
            for name in movedAside { try? move(aside + "/" + name, to: directory + "/" + name) }
            throw error
        }
    }

    private static func cacheFiles(in directory: String) throws -> [String] {
        let databases = try CacheInventory.modelFiles(in: directory) + [SQLiteStore.hashstringFileName]
        return databases.flatMap { [$0, $0 + "-wal", $0 + "-shm"] }.filter {
            access(directory + "/" + $0, F_OK) == 0
        }
    }

    private static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else { throw EmbCacheError.output(path: to, errno: errno) }
    }

    private static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat()
        var second = stat()
        return stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_dev == second.st_dev
            && first.st_ino == second.st_ino
    }
}
