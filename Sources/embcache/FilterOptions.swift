import ArgumentParser
import EmbCacheKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension InputMode: ExpressibleByArgument {}
extension OutputDType: ExpressibleByArgument {}
extension ErrorPolicy: ExpressibleByArgument {}
extension OutputFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { ["jsonl", "base64", "f32", "raw", "npy"] }
}

/// The options of the filter, shared by `embcache` and `embcache get`.
struct FilterOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Input files; - is stdin (the default).", valueName: "file"))
    var files: [String] = []

    @Option(
        help: ArgumentHelp(
            "Model name; hash-<d> is the built-in lexical embedder. Default: $EMBCACHE_MODEL.", valueName: "name"))
    var model: String?

    @Option(
        help: ArgumentHelp(
            "Provider: hash or command. Default: hash for hash-<d>, command when --command is given.", valueName: "name"
        ))
    var provider: String?

    @Option(help: ArgumentHelp("Shell command of the command provider.", valueName: "command"))
    var command: String?

    @Option(help: ArgumentHelp("Field holding the text; a dotted path reaches into nested objects.", valueName: "path"))
    var textField = "text"

    @Option(
        help: ArgumentHelp(
            "Input format: jsonl (a JSON object per line) or lines (a plain text per line).", valueName: "mode"))
    var input: InputMode = .jsonl

    @Option(name: .long, help: ArgumentHelp("Output format: jsonl, base64, f32 (or raw), npy.", valueName: "format"))
    var format: OutputFormat = .jsonl

    @Option(help: ArgumentHelp("Element type of f32 and npy output: float32 or float64.", valueName: "type"))
    var dtype: OutputDType = .float32

    @Option(help: ArgumentHelp("Field added to each record.", valueName: "name"))
    var outputField = "embedding"

    @Flag(name: .customLong("no-normalize"), help: "Write vectors as stored, not scaled to unit length.")
    var noNormalize = false

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("Write to this file, replaced only when the run succeeds.", valueName: "file"))
    var output: String?

    @Option(
        help: ArgumentHelp(
            "Cache directory. Default: $EMBCACHE_DIR, $XDG_CACHE_HOME/embcache, ~/.cache/embcache.", valueName: "dir"))
    var cacheDir: String?

    @Option(help: ArgumentHelp("What a record without a vector does: fail, skip or null.", valueName: "policy"))
    var onError: ErrorPolicy = .fail

    @Flag(help: "Answer from the cache only; a miss follows --on-error.")
    var offline = false

    @Option(help: ArgumentHelp("Records read, looked up and committed together.", valueName: "n"))
    var window = 1024

    @Option(help: ArgumentHelp("Most texts per provider request (default: the provider's).", valueName: "n"))
    var batchSize: Int?

    @Option(
        help: ArgumentHelp("Most UTF-8 bytes of text per provider request (default: the provider's).", valueName: "n"))
    var batchBytes: Int?

    @Option(help: ArgumentHelp("Provider requests in flight at once.", valueName: "n"))
    var maxRequests = 4

    @Option(help: ArgumentHelp("Seconds to wait for one provider answer.", valueName: "seconds"))
    var timeout = 60.0

    @Option(help: ArgumentHelp("Longest input line accepted, in bytes.", valueName: "n"))
    var maxLineBytes = 16 << 20

    @Flag(name: .shortAndLong, help: "No warnings and no progress line.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print a summary at the end.")
    var verbose = false

    func validate() throws {
        if window < 1 { throw ValidationError("--window must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let batchBytes, batchBytes < 1 { throw ValidationError("--batch-bytes must be at least 1") }
        if maxRequests < 1 { throw ValidationError("--max-requests must be at least 1") }
        if !(timeout >= 0.001 && timeout <= 31_536_000) {
            throw ValidationError("--timeout must be between 0.001 and 31536000 seconds")
        }
        if maxLineBytes < 1 { throw ValidationError("--max-line-bytes must be at least 1") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if outputField.isEmpty { throw ValidationError("--output-field must not be empty") }
        if input == .lines && outputField == "text" {
            throw ValidationError("--input lines writes the text as \"text\": choose another --output-field")
        }
        if textField.isEmpty { throw ValidationError("--text-field must not be empty") }
        if dtype == .float64 && !format.isMatrix {
            throw ValidationError("--dtype float64 applies to f32 and npy output only")
        }
    }

    /// Flags and environment as the engine's configuration.
    func resolve(environment: [String: String]) throws -> FilterConfiguration {
        guard let model = model ?? environment["EMBCACHE_MODEL"], !model.isEmpty else {
            throw EmbCacheError.usage("no model: give --model or set EMBCACHE_MODEL")
        }
        let hashDimension = HashEmbedder.dimension(forModel: model)
        var choice: ProviderChoice
        switch provider ?? (command != nil ? "command" : hashDimension != nil ? "hash" : nil) {
        case "hash":
            guard let hashDimension else {
                throw EmbCacheError.usage(
                    "the hash provider takes models named hash-<d>, d from 1 to 65536, not \"\(model)\"")
            }
            choice = .hash(dimension: hashDimension)
        case "command":
            guard let command, !command.isEmpty else {
                throw EmbCacheError.usage("the command provider needs --command")
            }
            // hash-<d> names the built-in's vectors; another provider's must
            // never land in that file.
            guard hashDimension == nil else {
                throw EmbCacheError.usage(
                    "model names hash-<d> belong to the hash provider; name the command's model otherwise")
            }
            choice = .command(command, timeout: .milliseconds(Int64(timeout * 1000)))
        case let name?:
            throw EmbCacheError.usage("unknown provider \"\(name)\" (known: hash, command)")
        case nil:
            guard offline else {
                throw EmbCacheError.usage(
                    "no provider for model \"\(model)\": name one with --provider, or use --offline to answer from the cache only"
                )
            }
            choice = .none
        }
        if offline { choice = .none }
        return FilterConfiguration(
            inputs: files, identity: ModelIdentity(name: model), provider: choice,
            cacheDirectory: try CacheDirectory.resolve(flag: cacheDir, environment: environment),
            inputMode: input, textField: textField, format: format, dtype: dtype, outputField: outputField,
            normalize: !noNormalize, outputPath: output, window: window, batchSize: batchSize,
            batchBytes: batchBytes, maxRequests: maxRequests, onError: onError, maxLineBytes: maxLineBytes,
            verbosity: quiet ? .quiet : verbose ? .verbose : .normal, showProgress: isatty(STDERR_FILENO) == 1)
    }
}
