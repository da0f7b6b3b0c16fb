import EmbCacheKit
import EmbCachePostgres

/// The cache a command works on: `--db URL`, else
/// `--cache-dir`, else `$EMBCACHE_DB`, else the default directory.
func openStorage(db: String?, cacheDir: String?, environment: [String: String]) throws -> CacheStorage {
    if db != nil && cacheDir != nil {
        throw EmbCacheError.usage("--db and --cache-dir name two caches: give one")
    }
    // Only a URL: anything else (a libpq keyword string, a misspelt
    // scheme) would quietly become a directory of that name.
    if let db, !db.isEmpty {
        guard PostgresAddress.isURL(db) else {
            throw EmbCacheError.usage("--db takes a postgresql:// URL; a directory is --cache-dir")
        }
        return try storage(named: db, environment: environment)
    }
    if cacheDir == nil, let db = environment["EMBCACHE_DB"], !db.isEmpty {
        guard PostgresAddress.isURL(db) else {
            throw EmbCacheError.usage("EMBCACHE_DB must be a postgresql:// URL")
        }
        return try storage(named: db, environment: environment)
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
