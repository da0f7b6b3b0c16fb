import ArgumentParser
import EmbCacheCore
import EmbCacheKit
import EmbCacheLocal
import EmbCacheProviders
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
    @Option(name: [.short, .long], help: ArgumentHelp(.model)) var model: String?
    @Option(name: .setting(.provider), help: ArgumentHelp(.provider)) var provider: String?
    @Option(help: SharedHelp.config, completion: .file(extensions: ["toml"])) var config: String?
    @Option(name: .setting(.dimensions), help: ArgumentHelp(.dimensions)) var dimensions: Int?
    @Option(name: .setting(.inputType), help: ArgumentHelp(.inputType)) var inputType: String?
    @Option(name: .setting(.taskType), help: ArgumentHelp(.taskType)) var taskType: String?
    @Option(name: .setting(.truncate), help: ArgumentHelp(.truncate)) var truncate: String?
}

/// How the misses are sent to a provider.
struct ProviderOptions: ParsableArguments {
    @Option(name: .setting(.command), help: ArgumentHelp(.command)) var command: String?
    @Option(name: .setting(.batchSize), help: ArgumentHelp(.batchSize)) var batchSize: Int?
    @Option(name: .setting(.batchBytes), help: ArgumentHelp(.batchBytes)) var batchBytes: Int?
    @Option(name: .setting(.maxRequests), help: ArgumentHelp(.maxRequests)) var maxRequests: Int?
    @Option(name: .setting(.timeout), help: ArgumentHelp(.timeout)) var timeout: Double?
}

/// The HTTP providers' endpoint, key, retries and pacing.
struct HTTPOptions: ParsableArguments {
    @Option(name: .setting(.baseURL), help: ArgumentHelp(.baseURL)) var baseUrl: String?
    @Option(name: .setting(.apiKeyEnv), help: ArgumentHelp(.apiKeyEnv)) var apiKeyEnv: String?
    @Option(name: .setting(.deployment), help: ArgumentHelp(.deployment)) var deployment: String?
    @Option(name: .setting(.apiVersion), help: ArgumentHelp(.apiVersion)) var apiVersion: String?
    @Option(name: .setting(.maxRetries), help: ArgumentHelp(.maxRetries)) var maxRetries: Int?
    @Option(name: .setting(.maxRetryWait), help: ArgumentHelp(.maxRetryWait)) var maxRetryWait: Double?
    @Option(name: .setting(.rpm), help: ArgumentHelp(.rpm)) var rpm: Int?
    @Option(name: .setting(.tpm), help: ArgumentHelp(.tpm)) var tpm: Int?
}

/// The model the local provider runs.
struct LocalModelOptions: ParsableArguments {
    @Option(name: .setting(.modelPath), help: ArgumentHelp(.modelPath), completion: .directory) var modelPath: String?
    @Option(name: .setting(.prompt), help: ArgumentHelp(.prompt)) var prompt: String?
}

/// Windows and what is said on stderr.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .setting(.window), help: ArgumentHelp(.window)) var window: Int?

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

extension RuntimeOptions {
    func validate() throws {
        if let windowBytes, windowBytes < 1 { throw ValidationError("--window-bytes must be at least 1") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }
}

extension ArgumentHelp {
    /// A model setting's help, from the table.
    init(_ setting: ModelSetting) { self.init(setting.help.text, valueName: setting.help.valueName) }
}

extension NameSpecification {
    /// A model setting's long option: the file's key.
    static func setting(_ setting: ModelSetting) -> NameSpecification { .customLong(setting.key) }
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

    /// What no one group decides alone, and every setting's range.
    func validate() throws {
        for setting in ModelSetting.allCases {
            if let value = flag(setting), setting.kind.accepts(value) == false {
                throw ValidationError("--\(setting.key) must be \(setting.kind.optionRange)")
            }
        }
        if input.input == .lines && output.outputField == "text" {
            throw ValidationError("--input lines writes the text as \"text\": choose another --output-field")
        }
        if input.input == .lines && output.overwrite {
            throw ValidationError("--overwrite applies to JSON records: --input lines has no field to replace")
        }
    }

    /// The value an option gave a setting; nil when it was not given.
    /// `--model` names the file's entry, so it never stands in for the
    /// entry's `model`.
    func flag(_ setting: ModelSetting) -> TOMLValue? {
        switch setting {
        case .provider: model.provider.map(TOMLValue.string)
        case .model: nil
        case .command: requests.command.map(TOMLValue.string)
        case .baseURL: http.baseUrl.map(TOMLValue.string)
        case .apiKeyEnv: http.apiKeyEnv.map(TOMLValue.string)
        case .dimensions: model.dimensions.map { .integer(Int64($0)) }
        case .inputType: model.inputType.map(TOMLValue.string)
        case .taskType: model.taskType.map(TOMLValue.string)
        case .truncate: model.truncate.map(TOMLValue.string)
        case .deployment: http.deployment.map(TOMLValue.string)
        case .apiVersion: http.apiVersion.map(TOMLValue.string)
        case .modelPath: local.modelPath.map(TOMLValue.string)
        case .prompt: local.prompt.map(TOMLValue.string)
        case .batchSize: requests.batchSize.map { .integer(Int64($0)) }
        case .batchBytes: requests.batchBytes.map { .integer(Int64($0)) }
        case .maxRequests: requests.maxRequests.map { .integer(Int64($0)) }
        case .timeout: requests.timeout.map(TOMLValue.float)
        case .maxRetries: http.maxRetries.map { .integer(Int64($0)) }
        case .maxRetryWait: http.maxRetryWait.map(TOMLValue.float)
        case .rpm: http.rpm.map { .integer(Int64($0)) }
        case .tpm: http.tpm.map { .integer(Int64($0)) }
        case .window: runtime.window.map { .integer(Int64($0)) }
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
        if runtime.verbose && !runtime.quiet, case .builtIn(let factory) = choice, let local = factory as? LocalProvider
        {
            Reporter.writeStderr("embcache: local provider: \(local.matrixLibrary)\n")
        }
        if offline { choice = .none }
        var configuration = FilterConfiguration(
            inputs: input.files, identity: identity, provider: choice,
            storage: storage,
            inputMode: input.input, textField: input.textField, format: output.format, dtype: output.dtype,
            outputField: output.outputField, normalize: !output.noNormalize, outputPath: output.output,
            window: settings.integer(.window), windowBytes: runtime.windowBytes,
            batchSize: settings.integer(.batchSize), batchBytes: settings.integer(.batchBytes),
            maxRequests: settings.integer(.maxRequests) ?? 4, onError: output.onError,
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
