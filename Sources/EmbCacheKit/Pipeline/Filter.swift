import EmbCacheCore
import EmbCacheProviders
import EmbCacheStore
import Glibc

/// Everything one run of the filter needs, resolved from flags and
/// environment by the executable.
public struct FilterConfiguration: Sendable {
    public var inputs: [String]
    public var identity: ModelIdentity
    public var provider: ProviderChoice
    public var storage: CacheStorage
    public var inputMode: InputMode
    public var textField: String
    /// Put before every text before it is keyed (`--prefix`).
    public var prefix = ""
    public var format: OutputFormat
    /// Only the records whose key falls in this part (`--shard`).
    public var shard: Shard?
    public var dtype: OutputDType
    public var outputField: String
    /// Whether a record's own output field is replaced (`--overwrite`)
    /// rather than an error.
    public var overwrite = false
    public var normalize: Bool
    /// nil writes to stdout.
    public var outputPath: String?
    /// nil: large enough for every request in flight to carry a full
    /// batch twice over.
    public var window: Int?
    /// Most bytes of input lines in one window; nil:
    /// `PipelineSettings.defaultWindowBytes`.
    public var windowBytes: Int?
    public var batchSize: Int?
    public var batchBytes: Int?
    public var maxRequests: Int
    public var onError: ErrorPolicy
    public var maxLineBytes: Int
    public var verbosity: Reporter.Verbosity
    public var showProgress: Bool

    public init(
        inputs: [String], identity: ModelIdentity, provider: ProviderChoice, storage: CacheStorage,
        inputMode: InputMode = .jsonl, textField: String = "text", format: OutputFormat = .jsonl,
        dtype: OutputDType = .float32, outputField: String = "embedding", normalize: Bool = true,
        outputPath: String? = nil, window: Int? = nil, windowBytes: Int? = nil, batchSize: Int? = nil,
        batchBytes: Int? = nil,
        maxRequests: Int = 4, onError: ErrorPolicy = .fail, maxLineBytes: Int = 16 << 20,
        verbosity: Reporter.Verbosity = .normal, showProgress: Bool = false
    ) {
        self.inputs = inputs
        self.identity = identity
        self.provider = provider
        self.storage = storage
        self.inputMode = inputMode
        self.textField = textField
        self.format = format
        self.dtype = dtype
        self.outputField = outputField
        self.normalize = normalize
        self.outputPath = outputPath
        self.window = window
        self.windowBytes = windowBytes
        self.batchSize = batchSize
        self.batchBytes = batchBytes
        self.maxRequests = maxRequests
        self.onError = onError
        self.maxLineBytes = maxLineBytes
        self.verbosity = verbosity
        self.showProgress = showProgress
    }
}

/// 1024 records, or for an HTTP provider enough for every request in flight
/// to carry a full batch twice over (at most 16384): a window holds the
/// requests that can overlap. Local providers are bound by the CPU, not by
/// requests in flight, and keep the smaller window's memory.
private func defaultWindow(_ configuration: FilterConfiguration, limits: BatchLimits) -> Int {
    guard case .http = configuration.provider else { return 1024 }
    return max(1024, min(16384, 2 * configuration.maxRequests * limits.texts))
}

/// Windows that may wait for their commit. A remote provider's requests go
/// on while a commit waits for the disk (a checkpoint's writes), so three
/// may wait and the requests of the windows after it are not held up. A
/// provider on this machine waits with the commit, and a longer queue would
/// only hold memory (25 MB more at 1M records of hash-384).
private func commitQueue(_ configuration: FilterConfiguration) -> Int {
    guard case .http = configuration.provider else { return 1 }
    return 3
}

/// The bytes left to read in the inputs when all are regular files (stdin
/// from its current offset, `< file` being one); nil when one is a pipe, a
/// terminal or cannot be read, whose size is not known.
private func inputSize(_ inputs: [String]) -> Int? {
    var total = 0
    for input in inputs.isEmpty ? ["-"] : inputs {
        var status = stat()
        if input == "-" {
            guard fstat(STDIN_FILENO, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
            total += max(0, Int(status.st_size) - max(0, Int(lseek(STDIN_FILENO, 0, SEEK_CUR))))
        } else {
            guard stat(input, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
            total += Int(status.st_size)
        }
    }
    return total
}

/// Windows sent ahead at most: a remote provider's request slots are fed
/// from up to four windows while its requests queue runs short (the
/// commits and writes of the windows before keep the main stage busy); a
/// provider on this machine is bound by the CPU, and more windows would
/// only hold memory.
private func windowsAhead(_ configuration: FilterConfiguration) -> Int {
    guard case .http = configuration.provider else { return 2 }
    return 4
}

/// Runs the filter: opens the cache, the provider and the output, streams
/// the inputs through the pipeline. The output file, if any, is kept only
/// when the run succeeds; the cache keeps everything computed either way.
public func runFilter(_ configuration: FilterConfiguration) throws -> RunSummary {
    let provider = configuration.provider.makeProvider()
    let store = try configuration.storage.openModel(
        configuration.identity, provider: provider?.name,
        expectedDimension: provider?.dimension ?? HashEmbedder.dimension(forModel: configuration.identity.name))

    let file = try configuration.outputPath.map { try OutputFile(path: $0) }
    let sink = file?.sink ?? ByteSink(fd: STDOUT_FILENO, name: "stdout")
    let writer = try configuration.format.writer(
        to: sink, field: configuration.outputField, dtype: configuration.dtype, normalize: configuration.normalize,
        linesInput: configuration.inputMode == .lines, dimension: store.dimension)

    let defaults = provider?.limits ?? BatchLimits(texts: 1, bytes: 1)
    let limits = BatchLimits(
        texts: configuration.batchSize ?? defaults.texts, bytes: configuration.batchBytes ?? defaults.bytes)
    var settings = PipelineSettings(
        windowSize: configuration.window ?? defaultWindow(configuration, limits: limits),
        windowBytes: configuration.windowBytes ?? PipelineSettings.defaultWindowBytes,
        limits: limits,
        maxRequests: configuration.maxRequests,
        onError: configuration.onError,
        commitQueue: commitQueue(configuration))
    settings.shard = configuration.shard
    settings.windowsAhead = windowsAhead(configuration)
    let reporter = Reporter(
        verbosity: configuration.verbosity, showProgress: configuration.showProgress,
        inputSize: configuration.showProgress ? inputSize(configuration.inputs) : nil,
        providerStatistics: { provider?.providerStatistics })
    (provider as? HTTPProvider)?.reportRetries { reporter.warn($0) }
    (provider as? HTTPProvider)?.reportWaits { reporter.waiting($0) }
    var decoder = RecordDecoder(
        mode: configuration.inputMode, textField: configuration.textField,
        outputField: configuration.format.isMatrix || configuration.format == .none
            || configuration.inputMode == .lines
            ? nil : configuration.outputField,
        maxLineBytes: configuration.maxLineBytes)
    decoder.prefix = configuration.prefix
    decoder.overwrite = configuration.overwrite
    let pipeline = Pipeline(
        store: store, provider: provider, decoder: decoder, writer: writer, settings: settings, reporter: reporter)
    defer { reporter.finish() }
    do {
        try pipeline.run(
            inputs: configuration.inputs.isEmpty ? ["-"] : configuration.inputs,
            maxLineBytes: configuration.maxLineBytes)
    } catch {
        // Records written before the failure reach a pipe; a file is
        // discarded whole (its deinit removes the temporary).
        if file == nil { try? sink.flush() }
        throw error
    }
    // The output's fsync and the cache's last checkpoints each wait for
    // the disk: side by side, the run ends when the slower is done. The
    // vectors are committed already; the checkpoints only copy them from
    // the logs into the files.
    let closing = UnsafeSendable(store)
    try concurrently {
        closing.value.close()
    } and: {
        try file?.commit()
    }
    return reporter.summary
}
