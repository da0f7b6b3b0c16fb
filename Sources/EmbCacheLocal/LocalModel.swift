import Crypto
import EmbCacheCore
import Foundation
import Glibc

/// A sentence-transformers model (BERT, XLM-RoBERTa or MPNet) read from its
/// directory: the configs, the tokenizer and the weights, every shape
/// checked, and the SHA-256 of `model.safetensors`, which names the model
/// in the cache.
public final class LocalModel: @unchecked Sendable {
    public let directory: String
    public let config: BertConfig
    public let sentenceConfig: SentenceTransformerConfig
    public let tokenizer: LocalTokenizer
    /// Tokens per text, [CLS] and [SEP] (or <s> and </s>) included.
    public let maxLength: Int
    /// Lower-case hex SHA-256 of model.safetensors.
    public let weightsDigest: String
    let weights: BertWeights

    public static let weightsFile = "model.safetensors"

    public init(directory path: String) throws {
        let directory = try ModelDirectory(path: path)
        self.directory = directory.path
        config = try BertConfig.read(directory)
        sentenceConfig = try SentenceTransformerConfig.read(directory)
        var tokenizer = try LocalTokenizer.read(directory)
        tokenizer.lowercaseInput = sentenceConfig.lowercaseInput
        let largest = tokenizer.largestID
        guard Int(largest) < config.vocabularySize else {
            throw EmbCacheError.configuration(
                "model directory \(directory.path): the tokenizer has token id \(largest), config.json's vocab_size is \(config.vocabularySize)"
            )
        }
        self.tokenizer = tokenizer
        maxLength = min(sentenceConfig.maxSequenceLength ?? config.longestSequence, config.longestSequence)
        guard directory.exists(Self.weightsFile) else {
            throw directory.error(
                Self.weightsFile,
                directory.exists("pytorch_model.bin")
                    ? "missing (only pytorch_model.bin is there, which the local provider does not read; convert it to safetensors)"
                    : "missing")
        }
        let tensors = try SafeTensors(path: directory.file(Self.weightsFile))
        weights = try BertWeights.load(tensors, config: config)
        weightsDigest = try Self.sha256(of: directory.file(Self.weightsFile))
    }

    /// The cache's name for this model's vectors: `name` (by default the
    /// directory's name) with the weights' digest as a parameter, so two
    /// weight files never share a cache file.
    public func identity(name: String?) -> ModelIdentity {
        // Standardised first, so `--model-path .` is named after the
        // directory it stands for.
        let base = name ?? URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent
        return ModelIdentity(name: base, parameters: ["weights": "sha256:" + weightsDigest.prefix(16)])
    }

    static func sha256(of path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EmbCacheError.configuration("\(path): \(String(cString: strerror(errno)).lowercased())")
        }
        defer { close(fd) }
        var hasher = SHA256()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let got = read(fd, chunk.baseAddress, chunk.count)
            if got < 0 {
                if errno == EINTR { continue }
                throw EmbCacheError.configuration("\(path): \(String(cString: strerror(errno)).lowercased())")
            }
            if got == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[..<got]))
        }
        return hasher.finalize().hexDigits
    }
}
