import EmbCacheCore

/// What sentence-transformers does around the encoder, from `modules.json`,
/// the pooling module's `config.json` and `sentence_bert_config.json`.
public struct SentenceTransformerConfig: Sendable, Equatable {
    /// The pooling modes, named as `pooling_mode` names them.
    public enum Pooling: String, Sendable, CaseIterable {
        /// The mean of every token's output (padding excluded).
        case mean
        /// The first token's output, [CLS] or <s>.
        case cls
        /// Each component's largest value over the tokens.
        case max
        /// The sum of the tokens' outputs over √(token count).
        case meanSquareRootLength = "mean_sqrt_len_tokens"
        /// The mean weighted by position: the first token 1, the next 2, ….
        case weightedMean = "weightedmean"
        /// The last token's output, [SEP] or </s>.
        case lastToken = "lasttoken"

        /// The key of the older format: `pooling_mode_cls_token` and so on.
        var legacyKey: String {
            switch self {
            case .mean: "mean_tokens"
            case .cls: "cls_token"
            case .max: "max_tokens"
            case .meanSquareRootLength: "mean_sqrt_len_tokens"
            case .weightedMean: "weightedmean_tokens"
            case .lastToken: "lasttoken"
            }
        }
    }

    public var pooling: Pooling
    public var normalize: Bool
    /// Tokens per text, [CLS] and [SEP] included; longer texts are cut.
    public var maxSequenceLength: Int?
    /// sentence-transformers' own lower-casing before the tokenizer's.
    public var lowercaseInput: Bool
    /// Texts put before a text by name (`prompts` of
    /// `config_sentence_transformers.json`), such as "query" → "query: ".
    public var prompts: [String: String] = [:]
    /// The prompt used when none is named, as sentence-transformers does.
    public var defaultPromptName: String?
    /// False when the pooling leaves the prompt's tokens out, which the
    /// local provider does not do.
    public var poolsPrompt = true

    static let transformer = "sentence_transformers.models.Transformer"
    static let pooler = "sentence_transformers.models.Pooling"
    static let normalizer = "sentence_transformers.models.Normalize"

    static func read(_ directory: ModelDirectory) throws -> SentenceTransformerConfig {
        guard let modules = try directory.json("modules.json") as? [[String: Any]] else {
            throw directory.error("modules.json", "not a JSON array of modules")
        }
        var kinds: [String] = []
        var poolingPath: String?
        for module in modules {
            guard let type = module["type"] as? String else {
                throw directory.error("modules.json", "a module has no \"type\"")
            }
            guard [transformer, pooler, normalizer].contains(type) else {
                throw directory.error(
                    "modules.json",
                    "unsupported module \"\(type)\" (the local provider runs Transformer, Pooling and Normalize)")
            }
            if type == pooler { poolingPath = (module["path"] as? String) ?? "1_Pooling" }
            kinds.append(type)
        }
        guard kinds.first == transformer, kinds.filter({ $0 == transformer }).count == 1 else {
            throw directory.error("modules.json", "the first module must be the one Transformer")
        }
        guard let poolingPath, kinds.count >= 2, kinds[1] == pooler else {
            throw directory.error("modules.json", "a Pooling module must follow the Transformer")
        }
        guard kinds.dropFirst(2).allSatisfy({ $0 == normalizer }) else {
            throw directory.error("modules.json", "only Normalize may follow Pooling")
        }

        let poolingFile = poolingPath + "/config.json"
        let poolingFields = try directory.object(poolingFile)
        let pooling = try readPooling(poolingFields, file: poolingFile, directory: directory)

        var maxLength: Int?
        var lowercase = false
        if directory.exists("sentence_bert_config.json") {
            let fields = try directory.object("sentence_bert_config.json")
            maxLength = try fields.integer("max_seq_length")
            if let length = maxLength, length < 3 {
                throw fields.place("\"max_seq_length\" is \(length), too short for [CLS] text [SEP]")
            }
            lowercase = try fields.bool("do_lower_case") ?? false
        }
        var config = SentenceTransformerConfig(
            pooling: pooling, normalize: kinds.contains(normalizer), maxSequenceLength: maxLength,
            lowercaseInput: lowercase)
        config.poolsPrompt = try poolingFields.bool("include_prompt") ?? true
        try config.readPrompts(directory)
        return config
    }

    /// One pooling mode, from `pooling_mode` (sentence-transformers 5 and
    /// later write it: a name or a list) or else the older
    /// `pooling_mode_*` booleans, none of which set means mean, as
    /// sentence-transformers reads them. Concatenated modes are refused.
    private static func readPooling(_ fields: JSONFields, file: String, directory: ModelDirectory) throws -> Pooling {
        let supported = Pooling.allCases.map(\.rawValue).joined(separator: ", ")
        if fields.has("pooling_mode") {
            let names: [String]
            if let name = fields.object["pooling_mode"] as? String {
                names = [name]
            } else if let list = fields.object["pooling_mode"] as? [String] {
                names = list
            } else {
                throw fields.place("\"pooling_mode\" is not a name or a list of names")
            }
            guard names.count == 1, let pooling = Pooling(rawValue: names[0]) else {
                throw directory.error(
                    file,
                    "unsupported pooling \(names.isEmpty ? "(none)" : names.joined(separator: " + ")) (the local provider pools by one of \(supported))"
                )
            }
            return pooling
        }
        var modes: [String] = []
        for key in fields.object.keys.sorted() where key.hasPrefix("pooling_mode_") {
            if try fields.bool(key) == true { modes.append(String(key.dropFirst("pooling_mode_".count))) }
        }
        if modes.isEmpty { return .mean }
        guard modes.count == 1, let pooling = Pooling.allCases.first(where: { $0.legacyKey == modes[0] }) else {
            throw directory.error(
                file,
                "unsupported pooling \(modes.joined(separator: " + ")) (the local provider pools by one of \(Pooling.allCases.map(\.legacyKey).joined(separator: ", ")))"
            )
        }
        return pooling
    }

    public static let promptsFile = "config_sentence_transformers.json"

    private mutating func readPrompts(_ directory: ModelDirectory) throws {
        guard directory.exists(Self.promptsFile) else { return }
        let fields = try directory.object(Self.promptsFile)
        if let table = try fields.nested("prompts") {
            for (name, text) in table.object {
                guard let text = text as? String else { throw table.place("\"\(name)\" is not a string") }
                prompts[name] = text
            }
        }
        defaultPromptName = try fields.string("default_prompt_name")
        if let name = defaultPromptName, prompts[name] == nil {
            throw fields.place("\"default_prompt_name\" is \"\(name)\", which is not in \"prompts\"")
        }
    }

    /// The text `--prompt name` puts before each text: the model's default
    /// prompt when no name is given, none for an empty name.
    public func prompt(named name: String?) throws(EmbCacheError) -> String {
        let text: String
        switch name {
        case nil: text = defaultPromptName.flatMap { prompts[$0] } ?? ""
        case ""?: return ""
        case let name?:
            guard let found = prompts[name] else {
                let known = prompts.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                throw .usage(
                    "--prompt \(name): the model has no such prompt "
                        + (known.isEmpty
                            ? "(its \(Self.promptsFile) names none)" : "(its prompts: \(known))"))
            }
            text = found
        }
        if !text.isEmpty && !poolsPrompt {
            throw .configuration(
                "the model's pooling leaves the prompt's tokens out (include_prompt is false), which the local provider does not do"
            )
        }
        return text
    }
}
