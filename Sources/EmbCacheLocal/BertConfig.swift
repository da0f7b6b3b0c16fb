/// The shape of a BERT-like encoder (BERT, XLM-RoBERTa or MPNet), from the
/// model directory's `config.json`. Anything else, or absolute positions
/// and exact GELU missing, is refused by name: running it as BERT would
/// give wrong vectors silently.
public struct BertConfig: Sendable, Equatable {
    public var architecture: EncoderArchitecture = .bert
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var vocabularySize: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    /// RoBERTa's and MPNet's positions: a token's position is this index
    /// + 1 + the count of tokens before it that are not padding; a padding
    /// token's is the index itself. nil: BERT's 0, 1, 2, ….
    public var paddingIndex: Int?
    /// Rows of MPNet's relative attention bias table.
    public var relativeAttentionBuckets = 0

    public var headSize: Int { hiddenSize / heads }

    /// Tokens a sequence may have before the position table runs out.
    public var longestSequence: Int { maxPositions - (paddingIndex.map { $0 + 1 } ?? 0) }

    public init(
        hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int, maxPositions: Int, vocabularySize: Int,
        typeVocabularySize: Int, layerNormEpsilon: Float
    ) {
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.vocabularySize = vocabularySize
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
    }

    static func read(_ directory: ModelDirectory) throws -> BertConfig {
        let fields = try directory.object("config.json")
        let architectures = (fields.object["architectures"] as? [String]) ?? []
        let modelType = try fields.string("model_type")
        let architecture: EncoderArchitecture
        if let known = modelType.flatMap(EncoderArchitecture.init(rawValue:)) {
            architecture = known
        } else if modelType == nil && architectures.contains(where: { $0.hasPrefix("Bert") }) {
            architecture = .bert
        } else {
            let named = modelType.map { "model_type \"\($0)\"" } ?? "architectures \(architectures)"
            throw fields.place(
                "unsupported architecture: \(named); the local provider runs BERT, XLM-RoBERTa and MPNet models (model_type \(EncoderArchitecture.supportedNames))"
            )
        }
        if let activation = try fields.string("hidden_act"), activation != "gelu" {
            throw fields.place("unsupported hidden_act \"\(activation)\" (the local provider runs \"gelu\")")
        }
        if let positions = try fields.string("position_embedding_type"), positions != "absolute" {
            throw fields.place(
                "unsupported position_embedding_type \"\(positions)\" (the local provider runs \"absolute\")")
        }
        var config = BertConfig(
            hiddenSize: try fields.requiredInteger("hidden_size"),
            layers: try fields.requiredInteger("num_hidden_layers"),
            heads: try fields.requiredInteger("num_attention_heads"),
            intermediateSize: try fields.requiredInteger("intermediate_size"),
            maxPositions: try fields.requiredInteger("max_position_embeddings", atLeast: 3),
            vocabularySize: try fields.requiredInteger("vocab_size"),
            typeVocabularySize: try fields.integer("type_vocab_size") ?? (architecture == .bert ? 2 : 1),
            layerNormEpsilon: Float(try fields.double("layer_norm_eps") ?? (architecture == .mpnet ? 1e-5 : 1e-12)))
        config.architecture = architecture
        switch architecture {
        case .bert: break
        case .xlmRoberta:
            config.paddingIndex = try fields.integer("pad_token_id") ?? 1
        case .mpnet:
            // MPNetModel takes 1 whatever pad_token_id says.
            config.paddingIndex = 1
            config.relativeAttentionBuckets = try fields.integer("relative_attention_num_buckets") ?? 32
            guard config.relativeAttentionBuckets >= RelativePositionBuckets.count else {
                throw fields.place(
                    "\"relative_attention_num_buckets\" is \(config.relativeAttentionBuckets), less than the \(RelativePositionBuckets.count) buckets MPNetModel uses"
                )
            }
        }
        if let padding = config.paddingIndex {
            guard padding >= 0, config.longestSequence >= 3 else {
                throw fields.place(
                    "\"pad_token_id\" \(padding) leaves no room in \(config.maxPositions) positions for <s> text </s>")
            }
        }
        guard config.hiddenSize % config.heads == 0 else {
            throw fields.place(
                "hidden_size \(config.hiddenSize) is not a multiple of num_attention_heads \(config.heads)")
        }
        guard config.typeVocabularySize >= 1 else { throw fields.place("\"type_vocab_size\" is less than 1") }
        let sizes = [
            config.hiddenSize, config.layers, config.intermediateSize, config.maxPositions, config.vocabularySize,
        ]
        guard sizes.allSatisfy({ $0 <= 1 << 20 }) else { throw fields.place("sizes beyond any BERT model") }
        return config
    }
}
