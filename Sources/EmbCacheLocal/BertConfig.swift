/// The shape of a BERT encoder, from the model directory's `config.json`.
/// Anything but a BertModel with absolute positions and exact GELU is
/// refused by name: running it as BERT would give wrong vectors silently.
public struct BertConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var vocabularySize: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float

    public var headSize: Int { hiddenSize / heads }

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
        guard modelType == "bert" || (modelType == nil && architectures.contains(where: { $0.hasPrefix("Bert") }))
        else {
            let named = modelType.map { "model_type \"\($0)\"" } ?? "architectures \(architectures)"
            throw fields.place(
                "unsupported architecture: \(named); the local provider runs BERT models (model_type \"bert\")")
        }
        if let activation = try fields.string("hidden_act"), activation != "gelu" {
            throw fields.place("unsupported hidden_act \"\(activation)\" (the local provider runs \"gelu\")")
        }
        if let positions = try fields.string("position_embedding_type"), positions != "absolute" {
            throw fields.place(
                "unsupported position_embedding_type \"\(positions)\" (the local provider runs \"absolute\")")
        }
        let config = BertConfig(
            hiddenSize: try fields.requiredInteger("hidden_size"),
            layers: try fields.requiredInteger("num_hidden_layers"),
            heads: try fields.requiredInteger("num_attention_heads"),
            intermediateSize: try fields.requiredInteger("intermediate_size"),
            maxPositions: try fields.requiredInteger("max_position_embeddings", atLeast: 3),
            vocabularySize: try fields.requiredInteger("vocab_size"),
            typeVocabularySize: try fields.integer("type_vocab_size") ?? 2,
            layerNormEpsilon: Float(try fields.double("layer_norm_eps") ?? 1e-12))
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
