import ArgumentParser
import EmbCacheCLI
import EmbCacheCore
import EmbCacheKit
import EmbCacheProviders
import EmbCacheServe
import Foundation

/// `embcache serve`: the cache behind OpenAI's embeddings API, for the
/// clients that already speak it.
struct ServeCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "embcache serve",
        abstract: "Serve the cache behind an OpenAI-compatible embeddings endpoint.",
        discussion: """
            POST /v1/embeddings takes OpenAI's request; its model is a model of the config file or hash-<d>, \
            embedded with that model's provider into that model's cache, as `embcache --model NAME` would. \
            Misses of concurrent requests share provider requests; a text being computed for one request is \
            not sent again for another. GET /v1/models, /health and /metrics (Prometheus) too. SIGTERM or \
            SIGINT stops taking requests, answers those taken, commits and exits 0.
            """
    )

    @Option(help: ArgumentHelp("Address and port to listen on (port 0: any free one).", valueName: "host:port"))
    var listen = "127.0.0.1:8089"

    @Option(help: ArgumentHelp("Write the port listened on to this file once listening.", valueName: "file"))
    var portFile: String?

    @Option(
        help: ArgumentHelp(
            "Environment variable holding the keys clients must give as bearer tokens (comma-separated); required to listen beyond loopback.",
            valueName: "name"))
    var clientKeyEnv: String?

    @Option(help: SharedHelp.config, completion: .file(extensions: ["toml"])) var config: String?

    @OptionGroup(title: "Cache") var location: CacheLocation

    @Option(help: ArgumentHelp("Largest request body taken, in bytes.", valueName: "n"))
    var maxBodyBytes = 16 << 20

    @Option(help: ArgumentHelp("Most texts in one request's input (OpenAI's limit).", valueName: "n"))
    var maxInputs = 2048

    @Option(help: ArgumentHelp("Most models served at once, each with its cache and provider.", valueName: "n"))
    var maxModels = 64

    @Option(
        help: ArgumentHelp(
            "Milliseconds with no new miss and no answer sent before a partial batch of misses goes to the provider.",
            valueName: "ms"))
    var batchWait = 3

    @Flag(name: .shortAndLong, help: "Log only errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Log every request.")
    var verbose = false

    func validate() throws {
        _ = try address()
        if maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be at least 1") }
        if maxInputs < 1 { throw ValidationError("--max-inputs must be at least 1") }
        if maxModels < 1 { throw ValidationError("--max-models must be at least 1") }
        if !(batchWait >= 0 && batchWait <= 10_000) {
            throw ValidationError("--batch-wait must be between 0 and 10000 milliseconds")
        }
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }

    /// `host:port`, `[v6]:port`.
    func address() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw ValidationError("--listen takes host:port, such as 127.0.0.1:8089") }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen takes host:port, such as 127.0.0.1:8089") }
        return (host, port)
    }

    func execute(environment: [String: String]) throws {
        let (host, port) = try address()
        var keys: [String] = []
        if let clientKeyEnv {
            keys = (environment[clientKeyEnv] ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            if keys.isEmpty {
                throw EmbCacheError.configuration("--client-key-env \(clientKeyEnv): the variable is unset or empty")
            }
        } else if !isLoopback(host) {
            throw EmbCacheError.usage(
                "listening on \(host) lets other machines in: give their keys with --client-key-env NAME")
        }
        let path = ModelCatalog.path(flag: config, environment: environment)
        let catalog = try ModelCatalog.load(path: path, required: config != nil)
        // Each model is resolved as the filter's --model would resolve it,
        // from the same flags: one resolution, so one cache file and one
        // provider for both.
        var shared: [String] = []
        if let config { shared += ["--config", config] }
        if let cacheDir = location.cacheDir { shared += ["--cache-dir", cacheDir] }
        if let db = location.db { shared += ["--db", db] }
        let flags = shared
        let resolve: ModelResolver = { name, dimensions in
            guard catalog.model(named: name) != nil || HashEmbedder.dimension(forModel: name) != nil else {
                throw ServedModelError.unknown(name)
            }
            let configuration: FilterConfiguration
            do {
                let filter = try FilterCommand.parse(
                    ["--model", name, "--quiet"] + flags + (dimensions.map { ["--dimensions", String($0)] } ?? []))
                configuration = try filter.options.resolve(environment: environment)
            } catch let error as EmbCacheError {
                throw ServedModelError.unusable(error.description)
            } catch {
                throw ServedModelError.unusable(FilterCommand.message(for: error))
            }
            // The filter leaves the size of other providers' vectors as it
            // is; a client that asks for a size gets it or a 400.
            if dimensions != nil, !configuration.provider.isHTTP {
                throw ServedModelError.invalid(
                    "model \(name) does not take dimensions: its vectors have the size the model gives them")
            }
            return configuration
        }
        let settings = ServeSettings(
            host: host, port: port, portFile: portFile, clientKeys: keys, maxBodyBytes: maxBodyBytes,
            maxInputs: maxInputs, maxModels: maxModels, gatherDelay: .milliseconds(batchWait),
            modelNames: catalog.models.keys.sorted(), logLevel: quiet ? .error : verbose ? .debug : .info)
        try runServer(settings, resolve: resolve)
    }
}

extension ProviderChoice {
    fileprivate var isHTTP: Bool {
        if case .http = self { true } else { false }
    }
}

/// Addresses only this machine can reach: an IPv4 literal in
/// 127.0.0.0/8, ::1, localhost. A name such as 127.example.com is not one.
private func isLoopback(_ host: String) -> Bool {
    if host == "localhost" || host == "::1" { return true }
    var address = in_addr()
    guard inet_pton(AF_INET, host, &address) == 1 else { return false }
    return UInt32(bigEndian: address.s_addr) >> 24 == 127
}
