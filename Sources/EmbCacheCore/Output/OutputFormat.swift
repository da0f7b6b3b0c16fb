/// What the output looks like (`--format`).
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Each input record with the vector added as an array of numbers.
    case jsonl
    /// Each input record with the vector added as base64 of little-endian
    /// float32 (OpenAI's `encoding_format=base64`).
    case base64
    /// Raw little-endian rows, n × d, nothing else.
    case f32
    /// A NumPy .npy file of shape (n, d).
    case npy
    /// Nothing: the run only fills the cache (a worker of a sharded run).
    case none

    /// `raw` is another name of `f32`.
    public init?(name: String) {
        if name == "raw" {
            self = .f32
        } else {
            self.init(rawValue: name)
        }
    }

    /// Binary formats have rows, not records.
    public var isMatrix: Bool { self == .f32 || self == .npy }

    /// The writer of this format. `field` names the vector in jsonl and
    /// base64 records; `dimension`, when known, sizes NaN rows in f32 and
    /// npy before the first vector.
    public func writer(
        to sink: ByteSink, field: String = "embedding", dtype: OutputDType = .float32, normalize: Bool,
        linesInput: Bool = false, dimension: Int? = nil
    ) throws -> RecordWriter {
        switch self {
        case .jsonl, .base64:
            JSONLinesWriter(
                sink: sink, field: field, encoding: self == .base64 ? .base64 : .numbers, normalize: normalize,
                linesInput: linesInput)
        case .f32, .npy:
            try MatrixWriter(sink: sink, dtype: dtype, normalize: normalize, npy: self == .npy, dimension: dimension)
        case .none:
            DiscardingWriter()
        }
    }
}

/// `--format none`: the rows were computed and committed; nothing is
/// written.
final class DiscardingWriter: RecordWriter {
    func write(_ rows: [OutputRow]) throws {}
    func finish(dimension: Int?) throws {}
}

/// The element type of f32 and npy output (`--dtype`).
public enum OutputDType: String, Sendable, CaseIterable {
    case float32
    case float64

    var npyDescriptor: String { self == .float32 ? "<f4" : "<f8" }
}

/// One record ready to be written: its input bytes, and its vector (nil
/// when `--on-error null` stands in for a record that has none).
public struct OutputRow: Sendable {
    public var bytes: [UInt8]
    public var isEmptyObject: Bool
    public var text: String?
    public var vector: [Float]?
    /// Where `text` goes back into `bytes`, when the record's bytes were
    /// kept without it (`Record.textOffset`).
    public var textOffset: Int?

    public init(bytes: [UInt8], isEmptyObject: Bool, text: String?, vector: [Float]?, textOffset: Int? = nil) {
        self.bytes = bytes
        self.isEmptyObject = isEmptyObject
        self.text = text
        self.vector = vector
        self.textOffset = textOffset
    }
}

/// Writes rows in the order given.
public protocol RecordWriter: AnyObject {
    func write(_ rows: [OutputRow]) throws
    /// Ends the output; `dimension` sizes an .npy header when no row had a
    /// vector.
    func finish(dimension: Int?) throws
}

/// The output vector: scaled to unit length unless asked not to. A zero
/// vector stays zero. The norm is taken in Double, where squares of float32
/// values neither overflow nor vanish.
package func outputVector(_ vector: [Float], normalize: Bool) -> [Float] {
    guard normalize else { return vector }
    let norm = euclideanNorm(vector)
    guard norm > 0, norm != 1 else { return vector }
    return [Float](unsafeUninitializedCapacity: vector.count) { scaled, count in
        vector.withUnsafeBufferPointer { values in
            for i in values.indices { scaled[i] = Float(Double(values[i]) / norm) }
        }
        count = vector.count
    }
}

/// The norm in double precision, summed in four lanes: one chain of adds
/// waits on each add, four run side by side (a warm run spent 2% of its
/// time here), and four partial sums round less than one running sum.
func euclideanNorm(_ vector: [Float]) -> Double {
    vector.withUnsafeBufferPointer { values in
        var lanes = SIMD4<Double>()
        var i = 0
        while i + 4 <= values.count {
            let four = SIMD4<Double>(
                Double(values[i]), Double(values[i + 1]), Double(values[i + 2]), Double(values[i + 3]))
            lanes += four * four
            i += 4
        }
        var sum = lanes.sum()
        while i < values.count {
            sum += Double(values[i]) * Double(values[i])
            i += 1
        }
        return sum.squareRoot()
    }
}
