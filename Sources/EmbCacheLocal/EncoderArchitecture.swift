import Foundation

/// The encoder families the local provider runs, by config.json's
/// `model_type`. All three are BERT's post-LayerNorm transformer; they
/// differ in where a token's position comes from and how attention sees it.
public enum EncoderArchitecture: String, Sendable, CaseIterable {
    /// Absolute positions 0, 1, 2, … and token type embeddings.
    case bert
    /// BERT's layers under RoBERTa's positions: counted from the padding
    /// index + 1, so the table has two rows more than tokens fit; one token
    /// type row.
    case xlmRoberta = "xlm-roberta"
    /// RoBERTa's positions, no token type embeddings, and a learnt bias per
    /// head and relative position bucket added to every layer's attention
    /// scores (HF transformers' MPNetModel).
    case mpnet

    /// The model_type values, for messages.
    static var supportedNames: String { Self.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") }

    /// "a BERT", "an XLM-RoBERTa" or "an MPNet", for messages.
    var modelName: String {
        switch self {
        case .bert: "a BERT"
        case .xlmRoberta: "an XLM-RoBERTa"
        case .mpnet: "an MPNet"
        }
    }

    /// Prefixes that checkpoints saved from a task model put before the
    /// base model's tensor names.
    var tensorPrefixes: [String] {
        switch self {
        case .bert: ["", "bert.", "model."]
        case .xlmRoberta: ["", "roberta.", "model."]
        case .mpnet: ["", "mpnet.", "model."]
        }
    }
}

/// MPNet's relative position buckets, as HF transformers computes them
/// (MPNetEncoder always buckets by 32, whatever config.json says, with
/// a largest distance of 128): half the buckets for keys before the query,
/// half after; the first eight distances exact, the rest on a log scale.
enum RelativePositionBuckets {
    static let count = 32
    static let maxDistance = 128

    /// The bucket of a key `relative` tokens after the query (negative:
    /// before it).
    static func bucket(_ relative: Int) -> Int {
        let half = count / 2
        var bucket = relative > 0 ? half : 0
        let distance = abs(relative)
        let exact = half / 2
        if distance < exact { return bucket + distance }
        let scaled = log(Double(distance) / Double(exact)) / log(Double(maxDistance) / Double(exact))
        bucket += min(exact + Int(scaled * Double(half - exact)), half - 1)
        return bucket
    }

    /// For each head, the bias of every relative position a sequence of
    /// `longest` tokens has: row `head`, column `relative + longest - 1`,
    /// from the [buckets, heads] table of the weights.
    static func table(bias: FloatBuffer, heads: Int, longest: Int) -> [Float] {
        let width = 2 * longest - 1
        var table = [Float](repeating: 0, count: heads * max(width, 0))
        for column in 0..<max(width, 0) {
            let row = bias.pointer + bucket(column - (longest - 1)) * heads
            for head in 0..<heads { table[head * width + column] = row[head] }
        }
        return table
    }
}

extension BertConfig {
    /// The row of the position table each token takes. RoBERTa's rule
    /// (fairseq's make_positions, as HF transformers applies it to the ids):
    /// a padding id written in the text takes the padding row and does not
    /// advance the count.
    func positions(of sequence: [Int32]) -> [Int] {
        guard let padding = paddingIndex else { return Array(sequence.indices) }
        var count = 0
        return sequence.map { id in
            if Int(id) == padding { return padding }
            count += 1
            return padding + count
        }
    }
}
