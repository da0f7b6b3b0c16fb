import ArgumentParser
import EmbCacheKit
import Foundation

/// `embcache [options] [file ...]`: the filter, the default subcommand.
public struct FilterCommand: EmbCacheSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed each text once per model, ever: answer from a local cache, compute only the misses.",
        usage: "embcache [options] [file ...]\nembcache <subcommand> [options]",
        discussion: """
            Reads JSON Lines from stdin or the files given and writes each record with its vector to \
            stdout, in input order. The filter is the default subcommand: `embcache embed` is the same. \
            See embcache(1) for formats, the cache layout and exit statuses.

            Subcommands (embcache help SUBCOMMAND): get, stats, models, import, export, verify, gc, \
            rm, backup, restore, copy, serve.
            """
    )

    @OptionGroup(title: "Input") var input: InputOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Cache") var cache: FilterCacheOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Provider") var requests: ProviderOptions
    @OptionGroup(title: "HTTP providers") var http: HTTPOptions
    @OptionGroup(title: "Local model") var local: LocalModelOptions
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions

    public init() {}

    public var options: FilterOptions {
        FilterOptions(
            input: input, output: output, cache: cache, model: model, requests: requests, http: http, local: local,
            runtime: runtime)
    }

    public func validate() throws {
        try options.validate()
        try EmbCacheCommand.refuseMisspeltSubcommand(input.files)
    }

    public func execute(environment: [String: String]) throws {
        _ = try runFilter(options.resolve(environment: environment))
    }
}

/// `embcache get`: the filter answering from the cache only. It takes the
/// options that name a model and its cache, never those of a provider.
struct GetCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Answer from the cache only; never call a provider (the filter with --offline).",
        discussion: "A miss follows --on-error: fail (status 65, naming the line), skip, or null."
    )

    @OptionGroup(title: "Input") var input: InputOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Cache") var location: CacheLocation
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Local model") var local: LocalModelOptions
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions

    func execute(environment: [String: String]) throws {
        var cache = try FilterCacheOptions.parse([])
        cache.location = location
        cache.offline = true
        var options = FilterOptions(
            input: input, output: output, cache: cache, model: model, requests: try ProviderOptions.parse([]),
            http: try HTTPOptions.parse([]), local: local, runtime: runtime)
        options.refusesUnknownModel = true
        try options.validate()
        _ = try runFilter(options.resolve(environment: environment))
    }
}
