import ArgumentParser
import EmbCacheCore
import EmbCachePostgres
import EmbCacheStore

/// `--cache-dir` and `--db`, shared by the filter and every command that
/// works on a cache.
public struct CacheLocation: ParsableArguments {
    static let cacheDirHelp = ArgumentHelp(
        "Cache directory. Default: $EMBCACHE_DIR, $XDG_CACHE_HOME/embcache, ~/.cache/embcache.", valueName: "dir")

    @Option(help: cacheDirHelp, completion: .directory) public var cacheDir: String?
    @Option(
        help: ArgumentHelp(
            "A shared cache on PostgreSQL (postgresql://user@host/dbname). Default: $EMBCACHE_DB.", valueName: "url"))
    public var db: String?

    public init() {}

    func storage(_ environment: [String: String]) throws -> CacheStorage {
        try openStorage(db: db, cacheDir: cacheDir, environment: environment)
    }
}

/// The cache a command works on: `--db URL`, else
/// `--cache-dir`, else `$EMBCACHE_DB`, else the default directory.
func openStorage(db: String?, cacheDir: String?, environment: [String: String]) throws -> CacheStorage {
    if db != nil && cacheDir != nil {
        throw EmbCacheError.usage("--db and --cache-dir name two caches: give one")
    }
    let url: (value: String, from: String)? =
        if let db, !db.isEmpty {
            (db, "--db")
        } else if cacheDir == nil, let db = environment["EMBCACHE_DB"], !db.isEmpty {
            (db, "EMBCACHE_DB")
        } else {
            nil
        }
    if let url {
        // Only a URL: anything else (a libpq keyword string, a misspelt
        // scheme) would quietly become a directory of that name.
        guard PostgresAddress.isURL(url.value) else {
            throw EmbCacheError.usage("\(url.from) takes a postgresql:// URL; a directory is --cache-dir")
        }
        return try storage(named: url.value, environment: environment)
    }
    return SQLiteStorage(directory: try CacheDirectory.resolve(flag: cacheDir, environment: environment))
}

/// A `postgresql://` URL names a database; anything else a directory.
func storage(named name: String, environment: [String: String]) throws -> CacheStorage {
    guard PostgresAddress.isURL(name) else { return SQLiteStorage(directory: name) }
    var bound = 30.0
    if let text = environment["EMBCACHE_DB_RETRY_SECONDS"], !text.isEmpty {
        guard let seconds = Double(text), seconds >= 0, seconds <= 86400 else {
            throw EmbCacheError.configuration("EMBCACHE_DB_RETRY_SECONDS must be a number of seconds, not \"\(text)\"")
        }
        bound = seconds
    }
    return PostgresStorage(address: PostgresAddress(url: name, environment: environment), retryBound: bound)
}
