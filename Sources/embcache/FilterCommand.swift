import ArgumentParser
import EmbCacheKit

/// `embcache [options] [file ...]`: the filter.
struct FilterCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "embcache",
        abstract: "Embed each text once per model, ever: answer from a local cache, compute only the misses.",
        discussion: """
            Reads JSON Lines from stdin or the files given and writes each record with its vector to \
            stdout, in input order. See embcache(1) for formats, the cache layout and exit statuses.

            Subcommands (embcache SUBCOMMAND --help): get, stats, models, import, export, verify, gc, \
            rm, backup, restore, copy.
            """,
        version: EmbCacheVersion.current
    )

    @OptionGroup var options: FilterOptions

    func execute(environment: [String: String]) throws {
        _ = try runFilter(options.resolve(environment: environment))
    }
}

/// `embcache get`: the filter answering from the cache only.
struct GetCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "embcache get",
        abstract: "Answer from the cache only; never call a provider (the filter with --offline).",
        discussion: "A miss follows --on-error: fail (status 65, naming the line), skip, or null."
    )

    @OptionGroup var options: FilterOptions

    func execute(environment: [String: String]) throws {
        var options = options
        options.offline = true
        _ = try runFilter(options.resolve(environment: environment))
    }
}
