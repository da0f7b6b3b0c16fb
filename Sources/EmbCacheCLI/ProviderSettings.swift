import EmbCacheCore
import EmbCacheKit
import EmbCacheLocal
import EmbCacheProviders
import EmbCacheStore

/// The provider's settings of one run: each flag given on the command line,
/// else the named model's entry in the config file, else the default.
struct ProviderSettings {
    let flags: FilterOptions
    let named: NamedModel?
    /// What a misspelt model name is answered with.
    var known = KnownModels(catalog: nil, storage: nil)

    init(flags: FilterOptions, named: NamedModel?) {
        self.flags = flags
        self.named = named
    }

    /// A setting's value: the option's, else the file's.
    func value(_ setting: ModelSetting) -> TOMLValue? { flags.flag(setting) ?? named?.settings[setting] }
    func string(_ setting: ModelSetting) -> String? { value(setting)?.settingString }
    func integer(_ setting: ModelSetting) -> Int? { value(setting)?.settingInteger }
    func seconds(_ setting: ModelSetting) -> Double? { value(setting)?.settingSeconds }

    /// Whether an option gave the setting, rather than the file.
    func isFlag(_ setting: ModelSetting) -> Bool { flags.flag(setting) != nil }

    /// Which provider computes the misses, and the identity its vectors are
    /// cached under: the provider's model name and every parameter that
    /// changes its vectors, so a config alias and the same settings given
    /// as flags share one cache file.
    /// `model` is nil only when none was given: the local provider then
    /// names the model after its directory.
    func resolve(model: String?, environment: [String: String], offline: Bool) throws -> (ProviderChoice, ModelIdentity)
    {
        let command = string(.command)
        let modelPath = string(.modelPath)
        let providerModel = named?.providerModel ?? model
        let implied: String? =
            if command != nil {
                "command"
            } else if modelPath != nil {
                "local"
            } else if providerModel.flatMap({ HashEmbedder.dimension(forModel: $0) }) != nil {
                "hash"
            } else {
                nil
            }
        // A flag beats the file: --command (or --model-path) alone means
        // that provider whatever provider the file names.
        let chosen =
            flags.model.provider ?? (isFlag(.command) ? "command" : nil) ?? (isFlag(.modelPath) ? "local" : nil)
            ?? named?.string(.provider) ?? implied
        if modelPath != nil && chosen != "local" {
            throw misuse(isFlag(.modelPath), "model-path applies to the local provider only")
        }
        if chosen == "local" {
            return try local(model: model, path: modelPath, environment: environment)
        }
        guard let providerModel else {
            throw EmbCacheError.usage("no model: give --model or set EMBCACHE_MODEL")
        }
        let hashDimension = HashEmbedder.dimension(forModel: providerModel)
        let timeout = seconds(.timeout) ?? 60
        let plain = ModelIdentity(name: providerModel)
        switch chosen {
        case "hash":
            guard let hashDimension else {
                throw EmbCacheError.usage(
                    "the hash provider takes models named hash-<d>, d from 1 to 65536, not \"\(providerModel)\"")
            }
            return (.hash(dimension: hashDimension), plain)
        case "command":
            guard let command, !command.isEmpty else {
                throw EmbCacheError.usage("the command provider needs --command")
            }
            try refuseHashName(hashDimension)
            return (.command(command, timeout: duration(timeout)), plain)
        case let name? where HTTPAPI(rawValue: name) != nil:
            try refuseHashName(hashDimension)
            let settings = try http(
                HTTPAPI(rawValue: name)!, model: providerModel, timeout: timeout,
                environment: environment, offline: offline)
            // The model as the API's type spells it: one request, one identity.
            return (.http(settings), ModelIdentity(name: settings.model, parameters: settings.identityParameters))
        case let name?:
            throw EmbCacheError.usage(
                "unknown provider \"\(name)\" (known: hash, command, local, \(HTTPAPI.all.map(\.rawValue).joined(separator: ", ")))"
            )
        case nil:
            guard offline else {
                throw EmbCacheError.usage(
                    "no provider for model \"\(model ?? providerModel)\"\(known.closest(to: model ?? providerModel)): name one with --provider or in the config file, or use --offline to answer from the cache only"
                )
            }
            return (.none, plain)
        }
    }

    /// A sentence-transformers model directory, loaded now: its identity is
    /// the model's name (`--model`, the file's `model`, else the
    /// directory's name) and the SHA-256 of its weights, so a run with other
    /// weights never reads these vectors.
    private func local(model: String?, path: String?, environment: [String: String]) throws -> (
        ProviderChoice, ModelIdentity
    ) {
        guard let path, !path.isEmpty else {
            throw EmbCacheError.usage("the local provider needs --model-path (a sentence-transformers model directory)")
        }
        let name = named.map { $0.string(.model) } ?? model
        try refuseHashName(name.flatMap { HashEmbedder.dimension(forModel: $0) })
        var directory = path
        if directory.hasPrefix("~/"), let home = environment["HOME"], !home.isEmpty {
            directory = home + directory.dropFirst()
        }
        let loaded = try LocalModel(directory: directory)
        return (.builtIn(try LocalProvider(model: loaded)), loaded.identity(name: name))
    }

    /// hash-<d> names the built-in's vectors; another provider's must
    /// never land in that file.
    private func refuseHashName(_ hashDimension: Int?) throws {
        guard hashDimension == nil else {
            throw EmbCacheError.usage(
                "model names hash-<d> belong to the hash provider; name the other provider's model otherwise")
        }
    }

    private func http(
        _ api: HTTPAPI, model: String, timeout: Double, environment: [String: String], offline: Bool
    ) throws -> HTTPProviderSettings {
        let baseURL = string(.baseURL)
        let variable = string(.apiKeyEnv) ?? api.defaultKeyVariable
        let key = environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        // Some keys have an endpoint of their own (Voyage's from Atlas).
        guard let base = baseURL ?? api.defaultBaseURL(key: key) else {
            throw EmbCacheError.usage("the \(api.rawValue) provider needs --base-url (the resource's endpoint)")
        }
        // An offline run sends nothing, so it needs no key.
        if key == nil && !offline && api.requiresKey(customBaseURL: baseURL != nil) {
            throw EmbCacheError.configuration(
                "the \(api.rawValue) provider needs an API key: set \(variable)"
                    + (isFlag(.apiKeyEnv) ? "" : " or name another variable with --api-key-env"))
        }
        let settings = HTTPProviderSettings(
            api: api, model: model, baseURL: base, keyVariable: variable, key: key,
            dimensions: integer(.dimensions), inputType: string(.inputType), taskType: string(.taskType),
            truncate: string(.truncate), deployment: string(.deployment), apiVersion: string(.apiVersion),
            timeout: duration(timeout), maxRetries: integer(.maxRetries) ?? 8,
            maxRetryWait: duration(seconds(.maxRetryWait) ?? 300),
            requestsPerMinute: integer(.rpm), tokensPerMinute: integer(.tpm))
        try refuseParameters(settings)
        do throws(ParameterProblem) {
            return try api.canonical(settings)
        } catch {
            // A model name is the file's when a named entry gave it.
            throw misuse(error.parameter.map { isFlag($0.setting) } ?? (named == nil), error.message)
        }
    }

    private func duration(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }

    /// A parameter the API never sends would still split the cache by
    /// identity, for identical vectors: refused, as a usage error on the
    /// command line and a configuration error in the file.
    private func refuseParameters(_ settings: HTTPProviderSettings) throws {
        for parameter in APIParameter.allCases
        where parameter.isGiven(in: settings) && !settings.api.parameters.contains(parameter) {
            throw misuse(
                isFlag(parameter.setting),
                "\(parameter.rawValue) does not apply to the \(settings.api.rawValue) provider (it does to "
                    + HTTPAPI.all.filter { $0.parameters.contains(parameter) }.map(\.rawValue).sorted().joined(
                        separator: ", ") + ")")
        }
    }

    /// What the local model's prompt puts before each text (see `--prompt`);
    /// empty for no prompt.
    func prompt(of choice: ProviderChoice) throws -> String {
        let name = string(.prompt)
        guard case .builtIn(let factory) = choice, let local = factory as? LocalProvider else {
            guard name == nil else {
                throw misuse(
                    isFlag(.prompt),
                    "prompt names a prompt of a local model's \(SentenceTransformerConfig.promptsFile); for another provider, give the text with --prefix"
                )
            }
            return ""
        }
        return try local.model.sentenceConfig.prompt(named: name)
    }

    /// A usage error for a flag, a configuration error for the file's entry.
    private func misuse(_ fromFlag: Bool, _ message: String) -> EmbCacheError {
        fromFlag
            ? .usage("--" + message) : .configuration("\(named.map { "models.\($0.name)" } ?? "config"): " + message)
    }
}
