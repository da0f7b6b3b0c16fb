/// The BERT encoder (and XLM-RoBERTa's and MPNet's, which differ only in
/// positions and attention bias) and sentence-transformers' pooling, on
/// the CPU. A batch is packed: its sequences' tokens stacked with no
/// padding, so every projection is one matrix product over real tokens
/// only, and attention runs per sequence and head over that sequence's own
/// length (which is what the attention mask leaves of a padded batch).
struct BertEncoder: Sendable {
    let blas: BLAS
    let config: BertConfig
    let weights: BertWeights
    let pooling: SentenceTransformerConfig.Pooling
    let normalize: Bool

    /// Activations of one pack, kept from pack to pack: allocating tens of
    /// MB per pack would page-fault them in again each time, and glibc
    /// keeps freed blocks of that size in its arenas anyway.
    final class Scratch: @unchecked Sendable {
        private(set) var tokens = 0
        private(set) var longest = 0
        private(set) var x = FloatBuffer(count: 0)
        private(set) var qkv = FloatBuffer(count: 0)
        private(set) var context = FloatBuffer(count: 0)
        private(set) var projected = FloatBuffer(count: 0)
        private(set) var intermediate = FloatBuffer(count: 0)
        private(set) var scores = FloatBuffer(count: 0)

        func reserve(tokens: Int, longest: Int, config: BertConfig) {
            if tokens > self.tokens {
                let h = config.hiddenSize
                x = FloatBuffer(count: tokens * h)
                qkv = FloatBuffer(count: tokens * 3 * h)
                context = FloatBuffer(count: tokens * h)
                projected = FloatBuffer(count: tokens * h)
                intermediate = FloatBuffer(count: tokens * config.intermediateSize)
                self.tokens = tokens
            }
            if longest > self.longest {
                scores = FloatBuffer(count: longest * longest)
                self.longest = longest
            }
        }
    }

    /// One vector per sequence of token ids ([CLS] … [SEP]).
    func embed(_ sequences: [[Int32]], scratch: Scratch) -> [[Float]] {
        let h = config.hiddenSize
        let total = sequences.reduce(0) { $0 + $1.count }
        scratch.reserve(tokens: total, longest: sequences.map(\.count).max() ?? 0, config: config)
        let x = scratch.x
        let qkv = scratch.qkv
        let context = scratch.context
        let projected = scratch.projected
        let intermediate = scratch.intermediate
        let scores = scratch.scores
        var starts: [Int] = []
        var offset = 0
        for sequence in sequences {
            starts.append(offset)
            offset += sequence.count
        }

        embedTokens(sequences, into: x.pointer)
        // MPNet's bias depends on the relative position only: one table per
        // pack, the same in every layer (MPNetEncoder computes it once).
        let longest = sequences.map(\.count).max() ?? 0
        let positionBias = weights.relativeAttentionBias.map {
            RelativePositionBuckets.table(bias: $0, heads: config.heads, longest: longest)
        }
        for layer in weights.layers {
            blas.linear(
                x.pointer, rows: total, inputs: h, weight: layer.qkvWeight, bias: layer.qkvBias, outputs: 3 * h,
                into: qkv.pointer)
            for (index, sequence) in sequences.enumerated() {
                attend(
                    qkv: qkv.pointer + starts[index] * 3 * h, length: sequence.count, scores: scores.pointer,
                    positionBias: positionBias, longest: longest, into: context.pointer + starts[index] * h)
            }
            blas.linear(
                context.pointer, rows: total, inputs: h, weight: layer.attentionOutWeight,
                bias: layer.attentionOutBias, outputs: h, into: projected.pointer)
            addAndNormalize(
                x.pointer, residual: projected.pointer, rows: total, width: h, weight: layer.attentionNormWeight,
                bias: layer.attentionNormBias, epsilon: config.layerNormEpsilon)
            blas.linear(
                x.pointer, rows: total, inputs: h, weight: layer.intermediateWeight, bias: layer.intermediateBias,
                outputs: config.intermediateSize, into: intermediate.pointer)
            gelu(intermediate.pointer, count: total * config.intermediateSize)
            blas.linear(
                intermediate.pointer, rows: total, inputs: config.intermediateSize, weight: layer.outputWeight,
                bias: layer.outputBias, outputs: h, into: projected.pointer)
            addAndNormalize(
                x.pointer, residual: projected.pointer, rows: total, width: h, weight: layer.outputNormWeight,
                bias: layer.outputNormBias, epsilon: config.layerNormEpsilon)
        }
        return sequences.indices.map { pool(x.pointer + starts[$0] * h, length: sequences[$0].count) }
    }

    /// Word + position + token type 0 (where the model has token types),
    /// then LayerNorm.
    private func embedTokens(_ sequences: [[Int32]], into x: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize
        var row = x
        for sequence in sequences {
            var positions = config.positions(of: sequence).makeIterator()
            for id in sequence {
                let word = weights.wordEmbeddings.pointer + Int(id) * h
                let place = weights.positionEmbeddings.pointer + positions.next()! * h
                if let type = weights.typeEmbeddings?.pointer {
                    for i in 0..<h { row[i] = word[i] + place[i] + type[i] }
                } else {
                    for i in 0..<h { row[i] = word[i] + place[i] }
                }
                row += h
            }
        }
        let total = sequences.reduce(0) { $0 + $1.count }
        addAndNormalize(
            x, residual: nil, rows: total, width: h, weight: weights.embeddingNormWeight,
            bias: weights.embeddingNormBias, epsilon: config.layerNormEpsilon)
    }

    /// Self-attention of one sequence: per head, softmax(Q·Kᵀ/√d)·V, each a
    /// BLAS product over the head's columns of the stacked projections.
    /// MPNet's relative position bias, when given, is added to the scaled
    /// scores: the scores start as the bias and the product is added.
    private func attend(
        qkv: UnsafeMutablePointer<Float>, length: Int, scores: UnsafeMutablePointer<Float>, positionBias: [Float]?,
        longest: Int, into context: UnsafeMutablePointer<Float>
    ) {
        let h = config.hiddenSize
        let d = config.headSize
        let n = Int32(length)
        let stride = Int32(3 * h)
        let scale = 1 / Float(d).squareRoot()
        for head in 0..<config.heads {
            let q = qkv + head * d
            let k = q + h
            let v = q + 2 * h
            var start: Float = 0
            if let positionBias {
                let width = 2 * longest - 1
                positionBias.withUnsafeBufferPointer { table in
                    for query in 0..<length {
                        // Key `key` is `key - query` tokens after the query.
                        let first = table.baseAddress! + head * width + (longest - 1) - query
                        (scores + query * length).update(from: first, count: length)
                    }
                }
                start = 1
            }
            blas.sgemm(
                BLAS.rowMajor, BLAS.noTranspose, BLAS.transpose, n, n, Int32(d), scale, q, stride, k, stride, start,
                scores, n)
            softmaxRows(scores, rows: length, width: length)
            blas.sgemm(
                BLAS.rowMajor, BLAS.noTranspose, BLAS.noTranspose, n, Int32(d), n, 1, scores, n, v, stride, 0,
                context + head * d, Int32(h))
        }
    }

    private func pool(_ rows: UnsafeMutablePointer<Float>, length: Int) -> [Float] {
        let h = config.hiddenSize
        var vector = [Float](repeating: 0, count: h)
        switch pooling {
        case .cls:
            for i in 0..<h { vector[i] = rows[i] }
        case .lastToken:
            let row = rows + (length - 1) * h
            for i in 0..<h { vector[i] = row[i] }
        case .max:
            for i in 0..<h { vector[i] = rows[i] }
            for token in 1..<max(length, 1) {
                let row = rows + token * h
                for i in 0..<h where row[i] > vector[i] { vector[i] = row[i] }
            }
        case .mean, .meanSquareRootLength:
            for token in 0..<length {
                let row = rows + token * h
                for i in 0..<h { vector[i] += row[i] }
            }
            // Divided, not multiplied by an inverse: as sentence-transformers.
            let divisor = pooling == .mean ? Float(length) : Float(length).squareRoot()
            for i in 0..<h { vector[i] /= divisor }
        case .weightedMean:
            for token in 0..<length {
                let row = rows + token * h
                let weight = Float(token + 1)
                for i in 0..<h { vector[i] += row[i] * weight }
            }
            let divisor = Float(length * (length + 1) / 2)
            for i in 0..<h { vector[i] /= divisor }
        }
        if normalize {
            // As torch.nn.functional.normalize: the norm is at least 1e-12.
            let norm = max(vector.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for i in 0..<h { vector[i] /= norm }
        }
        return vector
    }
}
