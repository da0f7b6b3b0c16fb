import EmbCacheCore

/// Makes a provider that lives in another target (the local models of
/// EmbCacheLocal, which link a BLAS), already set up when the run starts.
public protocol ProviderFactory: AnyObject, Sendable {
    /// As `--provider` takes it.
    var providerName: String { get }
    func makeProvider() -> any EmbeddingProvider
}

/// Which provider computes the misses.
public enum ProviderChoice: Sendable, Equatable {
    /// The built-in lexical embedder of this dimension.
    case hash(dimension: Int)
    /// A child process speaking JSON Lines.
    case command(String, timeout: Duration)
    /// An embedding API over HTTP.
    case http(HTTPProviderSettings)
    /// A provider from another target: a model run in process (`local`).
    case builtIn(any ProviderFactory)
    /// None: every miss follows `--on-error` (`--offline`).
    case none

    /// The provider chosen, ready for requests; nil for `.none`.
    public func makeProvider() -> (any EmbeddingProvider)? {
        switch self {
        case .hash(let dimension): HashEmbedder(dimension: dimension)
        case .command(let command, let timeout): CommandProvider(command: command, timeout: timeout)
        case .http(let settings): HTTPProvider(settings: settings)
        case .builtIn(let factory): factory.makeProvider()
        case .none: nil
        }
    }

    public static func == (a: ProviderChoice, b: ProviderChoice) -> Bool {
        switch (a, b) {
        case (.hash(let x), .hash(let y)): x == y
        case (.command(let x, let s), .command(let y, let t)): x == y && s == t
        case (.http(let x), .http(let y)): x == y
        case (.builtIn(let x), .builtIn(let y)): x === y
        case (.none, .none): true
        default: false
        }
    }
}
