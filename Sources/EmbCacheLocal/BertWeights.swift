import EmbCacheCore

/// float32 numbers in memory the owner frees: a tensor of the model, or
/// a scratch buffer of one batch.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
    }

    init(taking buffer: UnsafeMutableBufferPointer<Float>) {
        pointer = buffer.baseAddress!
        count = buffer.count
    }

    deinit { pointer.deallocate() }
}

/// One encoder layer's tensors, in PyTorch's Linear layout: weight
/// [out, in], so y = x·Wᵀ + b. Query, key and value are stacked into one
/// [3H, H] matrix so a single product projects all three.
struct BertLayerWeights: @unchecked Sendable {
    let qkvWeight: FloatBuffer
    let qkvBias: FloatBuffer
    let attentionOutWeight: FloatBuffer
    let attentionOutBias: FloatBuffer
    let attentionNormWeight: FloatBuffer
    let attentionNormBias: FloatBuffer
    let intermediateWeight: FloatBuffer
    let intermediateBias: FloatBuffer
    let outputWeight: FloatBuffer
    let outputBias: FloatBuffer
    let outputNormWeight: FloatBuffer
    let outputNormBias: FloatBuffer
}

/// Every tensor the encoder uses, each checked against config.json's shape.
struct BertWeights: @unchecked Sendable {
    let wordEmbeddings: FloatBuffer
    let positionEmbeddings: FloatBuffer
    let typeEmbeddings: FloatBuffer
    let embeddingNormWeight: FloatBuffer
    let embeddingNormBias: FloatBuffer
    let layers: [BertLayerWeights]

    /// Tensor names of BertModel, with or without the `bert.` prefix that
    /// checkpoints saved from a task model carry.
    static func prefix(in tensors: SafeTensors) -> String? {
        ["", "bert.", "model."].first { tensors.entries["\($0)embeddings.word_embeddings.weight"] != nil }
    }

    static func load(_ tensors: SafeTensors, config: BertConfig) throws -> BertWeights {
        guard let prefix = prefix(in: tensors) else {
            throw EmbCacheError.configuration(
                "\(tensors.path): no tensor \"embeddings.word_embeddings.weight\": not a BERT model's weights")
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
            let full = prefix + name
            guard let entry = tensors.entries[full] else {
                throw EmbCacheError.configuration("\(tensors.path): no tensor \"\(full)\", which a BERT model has")
            }
            guard entry.shape == shape else {
                throw EmbCacheError.configuration(
                    "\(tensors.path): tensor \"\(full)\" has shape \(entry.shape), config.json says \(shape)")
            }
            return FloatBuffer(taking: try tensors.floats(full))
        }
        let h = config.hiddenSize
        let i = config.intermediateSize
        var layers: [BertLayerWeights] = []
        for index in 0..<config.layers {
            let name = "encoder.layer.\(index)."
            let parts = try ["query", "key", "value"].map { (part) throws in
                (
                    try tensor(name + "attention.self.\(part).weight", [h, h]),
                    try tensor(name + "attention.self.\(part).bias", [h])
                )
            }
            let qkvWeight = FloatBuffer(count: 3 * h * h)
            let qkvBias = FloatBuffer(count: 3 * h)
            for (offset, part) in parts.enumerated() {
                (qkvWeight.pointer + offset * h * h).update(from: part.0.pointer, count: h * h)
                (qkvBias.pointer + offset * h).update(from: part.1.pointer, count: h)
            }
            layers.append(
                BertLayerWeights(
                    qkvWeight: qkvWeight, qkvBias: qkvBias,
                    attentionOutWeight: try tensor(name + "attention.output.dense.weight", [h, h]),
                    attentionOutBias: try tensor(name + "attention.output.dense.bias", [h]),
                    attentionNormWeight: try tensor(name + "attention.output.LayerNorm.weight", [h]),
                    attentionNormBias: try tensor(name + "attention.output.LayerNorm.bias", [h]),
                    intermediateWeight: try tensor(name + "intermediate.dense.weight", [i, h]),
                    intermediateBias: try tensor(name + "intermediate.dense.bias", [i]),
                    outputWeight: try tensor(name + "output.dense.weight", [h, i]),
                    outputBias: try tensor(name + "output.dense.bias", [h]),
                    outputNormWeight: try tensor(name + "output.LayerNorm.weight", [h]),
                    outputNormBias: try tensor(name + "output.LayerNorm.bias", [h])))
        }
        if tensors.entries[prefix + "encoder.layer.\(config.layers).attention.self.query.weight"] != nil {
            throw EmbCacheError.configuration(
                "\(tensors.path): holds more encoder layers than config.json's num_hidden_layers \(config.layers)")
        }
        return BertWeights(
            wordEmbeddings: try tensor("embeddings.word_embeddings.weight", [config.vocabularySize, h]),
            positionEmbeddings: try tensor("embeddings.position_embeddings.weight", [config.maxPositions, h]),
            typeEmbeddings: try tensor("embeddings.token_type_embeddings.weight", [config.typeVocabularySize, h]),
            embeddingNormWeight: try tensor("embeddings.LayerNorm.weight", [h]),
            embeddingNormBias: try tensor("embeddings.LayerNorm.bias", [h]),
            layers: layers)
    }
}
