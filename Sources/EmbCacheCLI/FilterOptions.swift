import ArgumentParser
import EmbCacheKit
import Glibc

extension InputMode: ExpressibleByArgument {}
extension OutputDType: ExpressibleByArgument {}
extension ErrorPolicy: ExpressibleByArgument {}
extension OutputFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { ["jsonl", "base64", "f32", "raw", "npy", "none"] }
}

extension Shard: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

/// Where records come from and which field holds the text.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Input files; - is stdin (the default).", valueName: "file"), completion: .file())
    var files: [String] = []

    @Option(help: ArgumentHelp("Field holding the text; a dotted path reaches into nested objects.", valueName: "path"))
    var textField = "text"

    @Option(
        help: ArgumentHelp(
            "Input format: jsonl (a JSON object per line) or lines (a plain text per line).", valueName: "mode"))
    var input: InputMode = .jsonl

    @Option(
        help: ArgumentHelp(
            "Text put before every text before it is keyed and embedded (the \"query: \" or \"passage: \" that e5, bge and nomic models want).",
            valueName: "text"))
    var prefix = ""

    @Option(help: ArgumentHelp("Longest input line accepted, in bytes.", valueName: "n"))
    var maxLineBytes = 16 << 20

    @Option(
        help: ArgumentHelp(
            "Handle only the records whose text key falls in part K of N (1 <= K <= N): the first 8 bytes of the SHA-512 key, big-endian, mod N, plus 1. Others are neither looked up, computed nor written.",
            valueName: "K/N"))
    var shard: Shard?
}

/// What is written, and where.
struct OutputOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output format: jsonl, base64, f32 (or raw), npy, or none (fill the cache, write nothing).",
            valueName: "format"))
    var format: OutputFormat = .jsonl

    @Option(help: ArgumentHelp("Element type of f32 and npy output: float32 or float64.", valueName: "type"))
    var dtype: OutputDType = .float32

    @Option(help: ArgumentHelp("Field added to each record.", valueName: "name"))
    var outputField = "embedding"

    @Flag(help: "Replace the output field of a record that has it already, instead of an error.")
    var overwrite = false

    @Flag(name: .customLong("no-normalize"), help: "Write vectors as stored, not scaled to unit length.")
    var noNormalize = false

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("Write to this file, replaced only when the run succeeds.", valueName: "file"),
        completion: .file())
    var output: String?

    @Option(help: ArgumentHelp("What a record without a vector does: fail, skip or null.", valueName: "policy"))
    var onError: ErrorPolicy = .fail
}

/// Which model, and every parameter that changes its vectors: what names a cache file, for the filter and `get` alike.
struct ModelOptions: ParsableArguments {
    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "Model name; hash-<d> is the built-in lexical embedder. Default: $EMBCACHE_MODEL; with --model-path, the directory's name.",
            valueName: "name"))
    var model: String?

    @Option(
        help: ArgumentHelp(
            "Provider: \(ModelOptions.providerNames). Default: the config's, hash for hash-<d>, command when --command is given, local when --model-path is.",
            valueName: "name"))
    var provider: String?

    /// The built-in providers and every HTTP API, as --help lists them.
    static var providerNames: String {
        let names = ["hash", "command", "local"] + HTTPAPI.all.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    @Option(help: SharedHelp.config, completion: .file(extensions: ["toml"])) var config: String?

    @Option(help: ArgumentHelp("Dimension to ask an HTTP provider for.", valueName: "d"))
    var dimensions: Int?

    @Option(help: ArgumentHelp("input_type of Cohere and Voyage (e.g. search_document, query).", valueName: "type"))
    var inputType: String?

    @Option(help: ArgumentHelp("taskType of Gemini (e.g. RETRIEVAL_DOCUMENT).", valueName: "type"))
    var taskType: String?

    @Option(
        help: ArgumentHelp(
            "Truncation of long inputs: true or false (Ollama, Voyage, TEI); NONE, START or END (Cohere).",
            valueName: "value"))
    var truncate: String?
}

/// How the misses are sent to a provider.
struct ProviderOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Shell command of the command provider.", valueName: "command"))
    var command: String?

    @Option(help: ArgumentHelp("Most texts per provider request (default: the provider's).", valueName: "n"))
    var batchSize: Int?

    @Option(
        help: ArgumentHelp("Most UTF-8 bytes of text per provider request (default: the provider's).", valueName: "n"))
    var batchBytes: Int?

    @Option(help: ArgumentHelp("Provider requests in flight at once (default: 4).", valueName: "n"))
    var maxRequests: Int?

    @Option(help: ArgumentHelp("Seconds to wait for one provider answer (default: 60).", valueName: "seconds"))
    var timeout: Double?
}

/// The HTTP providers' endpoint, key, retries and pacing.
struct HTTPOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Base URL of an HTTP provider's API.", valueName: "url"))
    var baseUrl: String?

    @Option(
        help: ArgumentHelp(
            "Environment variable holding the API key (default: the provider's, e.g. OPENAI_API_KEY).",
            valueName: "name"))
    var apiKeyEnv: String?

    @Option(help: ArgumentHelp("Azure OpenAI deployment (default: the model).", valueName: "name"))
    var deployment: String?

    @Option(help: ArgumentHelp("Azure OpenAI api-version.", valueName: "version"))
    var apiVersion: String?

    @Option(
        help: ArgumentHelp("Retries of a failed request (429, 5xx, timeouts, dropped connections).", valueName: "n"))
    var maxRetries: Int?

    @Option(help: ArgumentHelp("Most seconds one batch may wait between its retries.", valueName: "seconds"))
    var maxRetryWait: Double?

    @Option(help: ArgumentHelp("Requests per minute to stay under.", valueName: "n"))
    var rpm: Int?

    @Option(
        help: ArgumentHelp("Tokens per minute to stay under (a token is taken as 4 bytes of text).", valueName: "n"))
    var tpm: Int?
}

/// The model the local provider runs.
struct LocalModelOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Sentence-transformers model directory the local provider runs (BERT models such as all-MiniLM-L6-v2).",
            valueName: "dir"), completion: .directory)
    var modelPath: String?

    @Option(
        help: ArgumentHelp(
            "Prompt of the local model's config_sentence_transformers.json put before every text (by default its default_prompt_name; '' for none).",
            valueName: "name"))
    var prompt: String?
}

/// Windows and what is said on stderr.
struct RuntimeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Records read, looked up and committed together (by default 1024; for an HTTP provider, raised to two full batches per request in flight, at most 16384).",
            valueName: "n"))
    var window: Int?

    @Option(
        help: ArgumentHelp(
            "Most bytes of input lines in one window (default: 8388608); a longer line makes a window of its own.",
            valueName: "n"))
    var windowBytes: Int?

    @Flag(name: .shortAndLong, help: "No warnings and no progress line.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print a summary at the end.")
    var verbose = false
}

/// The cache and whether the filter may compute.
struct FilterCacheOptions: ParsableArguments {
    @OptionGroup var location: CacheLocation

    @Flag(help: "Answer from the cache only; a miss follows --on-error.")
    var offline = false
}

// Each group checks what it alone decides; FilterOptions checks the rest.
extension InputOptions {
    func validate() throws {
        if maxLineBytes < 1 { throw ValidationError("--max-line-bytes must be at least 1") }
        if textField.isEmpty { throw ValidationError("--text-field must not be empty") }
    }
}

extension OutputOptions {
    func validate() throws {
        if outputField.isEmpty { throw ValidationError("--output-field must not be empty") }
        if format == .none && output != nil { throw ValidationError("--format none writes nothing: drop -o") }
        if dtype == .float64 && !format.isMatrix {
            throw ValidationError("--dtype float64 applies to f32 and npy output only")
        }
        if overwrite && format.isMatrix {
            throw ValidationError("--overwrite applies to jsonl and base64 output only, which add a field")
        }
    }
}

extension ModelOptions {
    func validate() throws {
        if let dimensions, dimensions < 1 { throw ValidationError("--dimensions must be at least 1") }
    }
}

extension ProviderOptions {
    func validate() throws {
        for (name, value) in [
            ("--batch-size", batchSize), ("--batch-bytes", batchBytes), ("--max-requests", maxRequests),
        ] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        try validateSeconds("--timeout", timeout)
    }
}

extension HTTPOptions {
    func validate() throws {
        for (name, value) in [("--rpm", rpm), ("--tpm", tpm)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        if let maxRetries, maxRetries < 0 { throw ValidationError("--max-retries must be at least 0") }
        try validateSeconds("--max-retry-wait", maxRetryWait)
    }
}

extension RuntimeOptions {
    func validate() throws {
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
        if let windowBytes, windowBytes < 1 { throw ValidationError("--window-bytes must be at least 1") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }
}

private func validateSeconds(_ name: String, _ value: Double?) throws {
    if let value, !(value >= 0.001 && value <= 31_536_000) {
        throw ValidationError("\(name) must be between 0.001 and 31536000 seconds")
    }
}

/// Help texts of options that two executables declare.
public enum SharedHelp {
    public static let config = ArgumentHelp(
        "Config file of named models. Default: $XDG_CONFIG_HOME/embcache/config.toml, ~/.config/embcache/config.toml.",
        valueName: "file")
}

/// Everything the filter was told, gathered from its groups; `get` leaves
/// the provider's groups at their defaults.
public struct FilterOptions {
    var input: InputOptions
    var output: OutputOptions
    var cache: FilterCacheOptions
    var model: ModelOptions
    var requests: ProviderOptions
    var http: HTTPOptions
    var local: LocalModelOptions
    var runtime: RuntimeOptions
    /// `get`, which stops at a miss: a model nothing knows is then a typo
    /// to name, not a run of misses. (`--offline` may look up a model whose
    /// first vectors other workers have yet to store.)
    var refusesUnknownModel = false

    /// What no one group decides alone.
    func validate() throws {
        if input.input == .lines && output.outputField == "text" {
            throw ValidationError("--input lines writes the text as \"text\": choose another --output-field")
        }
        if input.input == .lines && output.overwrite {
            throw ValidationError("--overwrite applies to JSON records: --input lines has no field to replace")
        }
    }

    /// Flags, the config file and the environment as the engine's
    /// configuration; a flag overrides the file.
    public func resolve(environment: [String: String]) throws -> FilterConfiguration {
        if output.format.isMatrix && output.output == nil && isatty(STDOUT_FILENO) == 1 {
            // As gzip: binary rows on a terminal are garbage, and can upset it.
            throw EmbCacheError.usage(
                "not writing \(output.format.rawValue) output to a terminal: give -o FILE or redirect stdout")
        }
        let offline = cache.offline
        let model = (self.model.model ?? environment["EMBCACHE_MODEL"]).flatMap { $0.isEmpty ? nil : $0 }
        guard model != nil || local.modelPath != nil || self.model.provider == "local" else {
            throw EmbCacheError.usage("no model: give --model or set EMBCACHE_MODEL")
        }
        let path = ModelCatalog.path(flag: self.model.config, environment: environment)
        let catalog = try model.map { _ in try ModelCatalog.load(path: path, required: self.model.config != nil) }
        let named = model.flatMap { catalog?.model(named: $0) }
        let storage = try cache.location.storage(environment)
        var settings = ProviderSettings(flags: self, named: named)
        settings.known = KnownModels(catalog: catalog, storage: storage)
        var (choice, identity) = try settings.resolve(model: model, environment: environment, offline: offline)
        let prompt = try settings.prompt(of: choice)
        if offline { choice = .none }
        var configuration = FilterConfiguration(
            inputs: input.files, identity: identity, provider: choice,
            storage: storage,
            inputMode: input.input, textField: input.textField, format: output.format, dtype: output.dtype,
            outputField: output.outputField, normalize: !output.noNormalize, outputPath: output.output,
            window: settings.integer(runtime.window, "window"), windowBytes: runtime.windowBytes,
            batchSize: settings.integer(requests.batchSize, "batch-size"),
            batchBytes: settings.integer(requests.batchBytes, "batch-bytes"),
            maxRequests: settings.integer(requests.maxRequests, "max-requests") ?? 4, onError: output.onError,
            maxLineBytes: input.maxLineBytes,
            verbosity: runtime.quiet ? .quiet : runtime.verbose ? .verbose : .normal,
            showProgress: isatty(STDERR_FILENO) == 1)
        if !prompt.isEmpty && !input.prefix.isEmpty {
            throw EmbCacheError.usage(
                "--prefix and the model's prompt would both go before each text: give one (--prompt '' leaves the prompt out)"
            )
        }
        configuration.prefix = prompt.isEmpty ? input.prefix : prompt
        configuration.overwrite = output.overwrite
        configuration.shard = input.shard
        // A lookup of a name that is in neither the cache nor the config
        // file can answer nothing: most likely a typo.
        if refusesUnknownModel, output.onError == .fail, named == nil, let model, case .none = choice,
            local.modelPath == nil,
            HashEmbedder.dimension(forModel: model) == nil,
            !settings.known.mayHold(identity)
        {
            throw EmbCacheError.configuration(
                "no model \"\(model)\" is known: not in the cache at \(storage.location) nor in the config file\(settings.known.closest(to: model))"
            )
        }
        return configuration
    }
}
