import EmbCacheCore
import EmbCacheProviders
import Foundation
import Synchronization

/// `local`: a sentence-transformers model (BERT, XLM-RoBERTa or MPNet) run
/// inside embcache. One batch at a time uses every core: its texts are
/// tokenized in parallel, sorted by length and cut into packs of similar
/// length, and the packs are encoded side by side, each on one core with
/// single-threaded BLAS.
public final class LocalProvider: EmbeddingProvider, ProviderFactory, @unchecked Sendable {
    public let model: LocalModel
    public var name: String { "local" }
    public var dimension: Int? { model.config.hiddenSize }
    public var limits: BatchLimits { BatchLimits(texts: 256, bytes: 4 << 20) }

    private let encoder: BertEncoder
    private let running = Mutex<Void>(())
    /// One scratch per core at most: packs run `cores` at a time.
    private let scratches = Mutex<[BertEncoder.Scratch]>([])
    private let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Tokens per pack: enough rows for BLAS to run at speed, few enough
    /// that a pack's activations stay a few tens of MB.
    static let packTokens = 2048

    public init(model: LocalModel) throws(EmbCacheError) {
        self.model = model
        encoder = BertEncoder(
            blas: try BLAS.shared(), config: model.config, weights: model.weights,
            pooling: model.sentenceConfig.pooling,
            normalize: model.sentenceConfig.normalize)
    }

    /// The BLAS library the products run on and, for OpenBLAS, its kernels
    /// ("libopenblas.so.0, Zen kernels"), as `--verbose` says it.
    public var matrixLibrary: String { encoder.blas.description }

    public var providerName: String { "local" }
    public func makeProvider() -> any EmbeddingProvider { self }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        try running.withLock { _ in
            try Interrupt.check()
            let tokenizer = model.tokenizer
            let maxLength = model.maxLength
            let ids = parallelMap(texts.count) { tokenizer.encode(texts[$0], maxLength: maxLength) }
            let order = ids.indices.sorted { ids[$0].count > ids[$1].count }
            let packs = Self.packs(order.map { ids[$0].count }, cores: cores)
            let encoder = encoder
            let pooled = parallelMap(packs.count) { pack in
                let scratch = self.scratches.withLock { $0.popLast() } ?? BertEncoder.Scratch()
                defer { self.scratches.withLock { $0.append(scratch) } }
                return encoder.embed(packs[pack].map { ids[order[$0]] }, scratch: scratch)
            }
            var vectors = [[Float]](repeating: [], count: texts.count)
            for (pack, range) in packs.enumerated() {
                for (offset, position) in range.enumerated() { vectors[order[position]] = pooled[pack][offset] }
            }
            return vectors
        }
    }

    /// Contiguous ranges of the length-sorted texts, each under
    /// `packTokens` tokens (or one text), and at least two per core when the
    /// batch allows, so no core waits long for the last pack.
    static func packs(_ lengths: [Int], cores: Int) -> [Range<Int>] {
        let total = lengths.reduce(0, +)
        let budget = max(1, min(packTokens, total / max(1, 2 * cores)))
        var packs: [Range<Int>] = []
        var start = 0
        var tokens = 0
        for (index, length) in lengths.enumerated() {
            if index > start && tokens + length > budget {
                packs.append(start..<index)
                start = index
                tokens = 0
            }
            tokens += length
        }
        if start < lengths.count { packs.append(start..<lengths.count) }
        return packs
    }
}

/// `(0..<count).map(transform)` with the items spread over the cores.
func parallelMap<T: Sendable>(_ count: Int, _ transform: @Sendable (Int) -> T) -> [T] {
    guard count > 1 else { return (0..<count).map(transform) }
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer {
        // The results are copied out; what the buffer holds is released here.
        _ = results.deinitialize()
        results.deallocate()
    }
    let shared = SendablePointer(results)
    DispatchQueue.concurrentPerform(iterations: count) { index in
        shared.buffer[index] = transform(index)
    }
    return results.map { $0! }
}

/// A buffer whose elements distinct threads write, each its own.
private struct SendablePointer<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
    init(_ buffer: UnsafeMutableBufferPointer<T>) { self.buffer = buffer }
}
