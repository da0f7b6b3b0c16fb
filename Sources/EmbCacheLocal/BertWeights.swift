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
    /// Token type 0's row; MPNet has none.
    let typeEmbeddings: FloatBuffer?
    let embeddingNormWeight: FloatBuffer
    let embeddingNormBias: FloatBuffer
    let layers: [BertLayerWeights]
    /// MPNet's [buckets, heads] relative attention bias.
    let relativeAttentionBias: FloatBuffer?

    /// The prefix the tensor names carry: none for a base model saved as
    /// such, `bert.`, `roberta.` or `mpnet.` for one saved from a task
    /// model.
    static func prefix(in tensors: SafeTensors, architecture: EncoderArchitecture) -> String? {
        architecture.tensorPrefixes.first { tensors.entries["\($0)embeddings.word_embeddings.weight"] != nil }
    }

    /// A layer's tensor names below `encoder.layer.N.`: BERT's and
    /// XLM-RoBERTa's, or MPNet's (one `attn` module, its LayerNorm beside it).
    struct LayerNames {
        var query, key, value, attentionOut, attentionNorm: String

        init(_ architecture: EncoderArchitecture) {
            switch architecture {
            case .bert, .xlmRoberta:
                (query, key, value) = ("attention.self.query", "attention.self.key", "attention.self.value")
                (attentionOut, attentionNorm) = ("attention.output.dense", "attention.output.LayerNorm")
            case .mpnet:
                (query, key, value) = ("attention.attn.q", "attention.attn.k", "attention.attn.v")
                (attentionOut, attentionNorm) = ("attention.attn.o", "attention.LayerNorm")
            }
        }
    }

    static func load(_ tensors: SafeTensors, config: BertConfig) throws -> BertWeights {
        let architecture = config.architecture
        let kind = architecture.modelName
        guard let prefix = prefix(in: tensors, architecture: architecture) else {
            throw EmbCacheError.configuration(
                "\(tensors.path): no tensor \"embeddings.word_embeddings.weight\": not \(kind) model's weights")
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
            let full = prefix + name
            guard let entry = tensors.entries[full] else {
                throw EmbCacheError.configuration("\(tensors.path): no tensor \"\(full)\", which \(kind) model has")
            }
            guard entry.shape == shape else {
                throw EmbCacheError.configuration(
                    "\(tensors.path): tensor \"\(full)\" has shape \(entry.shape), config.json says \(shape)")
            }
            return FloatBuffer(taking: try tensors.floats(full))
        }
        let h = config.hiddenSize
        let i = config.intermediateSize
        let names = LayerNames(architecture)
        var layers: [BertLayerWeights] = []
        for index in 0..<config.layers {
            let name = "encoder.layer.\(index)."
            let qkvWeight = FloatBuffer(count: 3 * h * h)
            let qkvBias = FloatBuffer(count: 3 * h)
            // One part at a time, so at most one part's copy is alive
            // beside the stacked matrix.
            for (offset, part) in [names.query, names.key, names.value].enumerated() {
                let weight = try tensor(name + part + ".weight", [h, h])
                (qkvWeight.pointer + offset * h * h).update(from: weight.pointer, count: h * h)
                let bias = try tensor(name + part + ".bias", [h])
                (qkvBias.pointer + offset * h).update(from: bias.pointer, count: h)
            }
            layers.append(
                BertLayerWeights(
                    qkvWeight: qkvWeight, qkvBias: qkvBias,
                    attentionOutWeight: try tensor(name + names.attentionOut + ".weight", [h, h]),
                    attentionOutBias: try tensor(name + names.attentionOut + ".bias", [h]),
                    attentionNormWeight: try tensor(name + names.attentionNorm + ".weight", [h]),
                    attentionNormBias: try tensor(name + names.attentionNorm + ".bias", [h]),
                    intermediateWeight: try tensor(name + "intermediate.dense.weight", [i, h]),
                    intermediateBias: try tensor(name + "intermediate.dense.bias", [i]),
                    outputWeight: try tensor(name + "output.dense.weight", [h, i]),
                    outputBias: try tensor(name + "output.dense.bias", [h]),
                    outputNormWeight: try tensor(name + "output.LayerNorm.weight", [h]),
                    outputNormBias: try tensor(name + "output.LayerNorm.bias", [h])))
        }
        if tensors.entries[prefix + "encoder.layer.\(config.layers).\(names.query).weight"] != nil {
            throw EmbCacheError.configuration(
                "\(tensors.path): holds more encoder layers than config.json's num_hidden_layers \(config.layers)")
        }
        return BertWeights(
            wordEmbeddings: try tensor("embeddings.word_embeddings.weight", [config.vocabularySize, h]),
            positionEmbeddings: try tensor("embeddings.position_embeddings.weight", [config.maxPositions, h]),
            typeEmbeddings: architecture == .mpnet
                ? nil : try tensor("embeddings.token_type_embeddings.weight", [config.typeVocabularySize, h]),
            embeddingNormWeight: try tensor("embeddings.LayerNorm.weight", [h]),
            embeddingNormBias: try tensor("embeddings.LayerNorm.bias", [h]),
            layers: layers,
            relativeAttentionBias: architecture == .mpnet
                ? try tensor(
                    "encoder.relative_attention_bias.weight", [config.relativeAttentionBuckets, config.heads])
                : nil)
    }
}
