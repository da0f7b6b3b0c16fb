import EmbCacheCore
import Glibc

/// Where the cache lives and how its files come to exist.
public enum CacheDirectory {
    /// `--cache-dir`, else `$EMBCACHE_DIR`, else `$XDG_CACHE_HOME/embcache`,
    /// else `~/.cache/embcache`.
    public static func resolve(flag: String?, environment: [String: String]) throws -> String {
        if let flag, !flag.isEmpty { return flag }
        if let dir = environment["EMBCACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/embcache" }
        guard let home = environment["HOME"].flatMap({ $0.isEmpty ? nil : $0 }) ?? passwordHome() else {
            throw EmbCacheError.configuration("no cache directory: set --cache-dir, EMBCACHE_DIR or HOME")
        }
        return home + "/.cache/embcache"
    }

    private static func passwordHome() -> String? {
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    /// Creates the directory and any missing parents, owner-only: cached
    /// texts may be private.
    public static func create(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw EmbCacheError.configuration("cannot create cache directory \(prefix): \(systemMessage(errno))")
            }
            prefix += "/"
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw EmbCacheError.configuration("cache directory \(path) is not a directory")
        }
    }

    /// Creates an empty file readable by its owner only, so that SQLite,
    /// which gives its -wal and -shm files the mode of the database, keeps
    /// them private too. An existing file is left as it is.
    package static func createPrivateFile(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
    }
}
