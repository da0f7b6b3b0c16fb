import EmbCacheCore
import EmbCacheStore
import Foundation
import Glibc

/// The last step both restores share (`restore DIR` and `restore s3://…`):
/// the backup's files, staged and checked in a folder inside the cache
/// directory, take the place of the cache. A directory that holds a cache
/// is replaced only with `force`, and ends up as in the backup, or as it
/// was.
enum RestoreSwap {
    /// The cache files `directory` holds, logs included, after making sure
    /// it exists; an error unless there are none or `force` is given.
    static func existingCache(in directory: String, force: Bool) throws -> [String] {
        try CacheDirectory.create(directory)
        let existing = logged(
            try SQLiteInventory.modelFiles(in: directory) + [SQLiteSchema.hashstringFileName], in: directory)
        if !force && !existing.isEmpty {
            throw EmbCacheError.configuration(
                "\(directory) holds a cache: restore into an empty directory, or give --force to replace it")
        }
        return existing
    }

    /// Those of `databases` a directory holds, and their logs.
    static func logged(_ databases: [String], in directory: String) -> [String] {
        databases.flatMap { [$0, $0 + "-wal", $0 + "-shm"] }.filter { access(directory + "/" + $0, F_OK) == 0 }
    }

    /// `replacing` aside (logs with them, never deleted while they may be
    /// put back), then the staged `names` in, hashstring last so that no
    /// vector is ever without its text; on failure, the old files back.
    static func swap(staging: String, names: [String], into directory: String, replacing: [String]) throws {
        let aside = directory + "/.replaced-\(UUID())"
        try CacheDirectory.create(aside)
        defer { try? FileManager.default.removeItem(atPath: aside) }
        var movedAside: [String] = []
        var movedIn: [String] = []
        do {
            for name in replacing {
                try move(directory + "/" + name, to: aside + "/" + name)
                movedAside.append(name)
            }
            let isTexts = { (name: String) in name == SQLiteSchema.hashstringFileName }
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

    private static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else { throw EmbCacheError.output(path: to, errno: errno) }
    }
}
