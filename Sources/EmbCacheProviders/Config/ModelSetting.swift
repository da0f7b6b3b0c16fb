import EmbCacheCore

/// Every setting a named model may carry: a key of the configuration file
/// and the filter's long option of the same name. This is the one table the
/// file's keys and their types, the options' names and help, their range
/// checks, and the provider's settings are all read from. A setting added
/// here is a key of the file at once, and the compiler asks for its option
/// (`FilterOptions.flag(_:)` switches over every case).
public enum ModelSetting: String, CaseIterable, Sendable {
    case provider, model, command
    case baseURL = "base-url"
    case apiKeyEnv = "api-key-env"
    case dimensions
    case inputType = "input-type"
    case taskType = "task-type"
    case truncate, deployment
    case apiVersion = "api-version"
    case modelPath = "model-path"
    case prompt
    case batchSize = "batch-size"
    case batchBytes = "batch-bytes"
    case maxRequests = "max-requests"
    case timeout
    case maxRetries = "max-retries"
    case maxRetryWait = "max-retry-wait"
    case rpm, tpm, window

    /// The key as the file and the long option spell it (`batch-size`).
    public var key: String { rawValue }

    /// The type a value must have, and its range.
    public enum Kind: Sendable {
        case string
        /// A positive integer: every integer setting is a count or a limit.
        case count
        /// A count that may be zero (retries).
        case countOrZero
        /// Positive seconds, integer or float, at most a year.
        case seconds
        /// A boolean or a provider's own word (`"END"`, `"NONE"`).
        case truncate

        /// A year, the longest wait accepted.
        public static let maxSeconds: Int64 = 31_536_000

        /// What the file's message says a value must be.
        public var expected: String {
            switch self {
            case .string: "a string"
            case .count, .countOrZero: "an integer"
            case .seconds: "a number of seconds"
            case .truncate: "a boolean or a string"
            }
        }

        /// Whether a value of the right type is in range; nil when the type
        /// is wrong.
        public func accepts(_ value: TOMLValue) -> Bool? {
            switch (self, value) {
            case (.string, .string), (.truncate, .string), (.truncate, .boolean): true
            case (.count, .integer(let number)): number > 0
            case (.countOrZero, .integer(let number)): number >= 0
            case (.seconds, .integer(let number)): number > 0 && number <= Self.maxSeconds
            case (.seconds, .float(let number)): number >= 0.001 && number <= Double(Self.maxSeconds)
            default: nil
            }
        }

        /// The range, as the file's message says it.
        public var range: String {
            switch self {
            case .countOrZero: "0 or more"
            case .seconds: "between 0.001 and \(Self.maxSeconds) seconds"
            default: "positive"
            }
        }

        /// The range, as an option's message says it.
        public var optionRange: String {
            switch self {
            case .countOrZero: "at least 0"
            case .seconds: range
            default: "at least 1"
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .provider, .model, .command, .baseURL, .apiKeyEnv, .inputType, .taskType, .deployment, .apiVersion,
            .modelPath, .prompt:
            .string
        case .dimensions, .batchSize, .batchBytes, .maxRequests, .rpm, .tpm, .window: .count
        case .maxRetries: .countOrZero
        case .timeout, .maxRetryWait: .seconds
        case .truncate: .truncate
        }
    }

    /// The option's help in `--help`, and its value's name.
    public var help: (text: String, valueName: String) {
        switch self {
        case .provider:
            (
                "Provider: \(Self.providerNames). Default: the config's, hash for hash-<d>, command when --command is given, local when --model-path is.",
                "name"
            )
        case .model:
            (
                "Model name; hash-<d> is the built-in lexical embedder. Default: $EMBCACHE_MODEL; with --model-path, the directory's name.",
                "name"
            )
        case .command: ("Shell command of the command provider.", "command")
        case .baseURL: ("Base URL of an HTTP provider's API.", "url")
        case .apiKeyEnv:
            ("Environment variable holding the API key (default: the provider's, e.g. OPENAI_API_KEY).", "name")
        case .dimensions: ("Dimension to ask an HTTP provider for.", "d")
        case .inputType: ("input_type of Cohere and Voyage (e.g. search_document, query).", "type")
        case .taskType: ("taskType of Gemini (e.g. RETRIEVAL_DOCUMENT).", "type")
        case .truncate:
            ("Truncation of long inputs: true or false (Ollama, Voyage, TEI); NONE, START or END (Cohere).", "value")
        case .deployment: ("Azure OpenAI deployment (default: the model).", "name")
        case .apiVersion: ("Azure OpenAI api-version.", "version")
        case .modelPath:
            (
                "Sentence-transformers model directory the local provider runs (BERT models such as all-MiniLM-L6-v2).",
                "dir"
            )
        case .prompt:
            (
                "Prompt of the local model's config_sentence_transformers.json put before every text (by default its default_prompt_name; '' for none).",
                "name"
            )
        case .batchSize: ("Most texts per provider request (default: the provider's).", "n")
        case .batchBytes: ("Most UTF-8 bytes of text per provider request (default: the provider's).", "n")
        case .maxRequests: ("Provider requests in flight at once (default: 4).", "n")
        case .timeout: ("Seconds to wait for one provider answer (default: 60).", "seconds")
        case .maxRetries: ("Retries of a failed request (429, 5xx, timeouts, dropped connections).", "n")
        case .maxRetryWait: ("Most seconds one batch may wait between its retries.", "seconds")
        case .rpm: ("Requests per minute to stay under.", "n")
        case .tpm: ("Tokens per minute to stay under (a token is taken as 4 bytes of text).", "n")
        case .window:
            (
                "Records read, looked up and written together (by default 1024; for an HTTP provider, raised to two full batches per request in flight, at most 16384).",
                "n"
            )
        }
    }

    /// The built-in providers and every HTTP API, as `--help` lists them.
    public static var providerNames: String {
        let names = ["hash", "command", "local"] + HTTPAPI.all.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

extension APIParameter {
    /// The model setting that gives it: the key and option of its name.
    public var setting: ModelSetting { ModelSetting(rawValue: rawValue)! }
}

/// A setting's value read as the type its reader wants; nil for another type.
extension TOMLValue {
    /// A string; a boolean (`truncate = true`) reads as "true" or "false",
    /// as the option spells it.
    public var settingString: String? {
        switch self {
        case .string(let value): value
        case .boolean(let value): value ? "true" : "false"
        default: nil
        }
    }

    public var settingInteger: Int? {
        if case .integer(let value) = self { Int(exactly: value) } else { nil }
    }

    /// A duration given as an integer or a float.
    public var settingSeconds: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .float(let value): value
        default: nil
        }
    }
}
