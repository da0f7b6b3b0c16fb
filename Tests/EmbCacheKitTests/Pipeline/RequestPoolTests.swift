import Foundation
import Synchronization
import Testing

@testable import EmbCacheCore
@testable import EmbCacheKit
@testable import EmbCacheProviders
@testable import EmbCacheStore

/// The requests stage against a provider in this process: a text with
/// "refused" in it makes the provider refuse its whole batch (as an API's
/// 400 does), one with "broken" makes the request fail; every other text
/// gets a vector of its length.
@Suite struct RequestPoolTests {
    final class ScriptedProvider: EmbeddingProvider, @unchecked Sendable {
        let name = "scripted"
        var dimension: Int? { 1 }
        var limits: BatchLimits { BatchLimits(texts: 1000, bytes: 1 << 20) }
        private let sent = Mutex<[[String]]>([])
        /// Called with each request's texts as it is sent.
        let onRequest: @Sendable ([String]) -> Void

        init(onRequest: @escaping @Sendable ([String]) -> Void = { _ in }) { self.onRequest = onRequest }

        /// Every request, in the order sent.
        var requests: [[String]] { sent.withLock { $0 } }

        func embed(_ texts: [String]) throws -> [[Float]] {
            sent.withLock { $0.append(texts) }
            onRequest(texts)
            if texts.contains(where: { $0.contains("broken") }) {
                throw EmbCacheError.provider(name: name, message: "the server broke")
            }
            if texts.contains(where: { $0.contains("refused") }) {
                throw ProviderRejection(status: 400, message: "a text it will not take")
            }
            return texts.map { [Float($0.count)] }
        }
    }

    static func misses(_ texts: [String]) -> [StoreEntry] {
        texts.map { StoreEntry(key: CacheKey(text: $0), text: $0, vector: []) }
    }

    static func locations(_ count: Int) -> [EmbCacheCore.SourceLocation] {
        (0..<count).map { EmbCacheCore.SourceLocation(source: "stdin", line: $0 + 1) }
    }

    /// The texts of every delivery, in the order delivered.
    final class Deliveries: Sendable {
        private let texts = Mutex<[String]>([])
        func add(_ entries: [StoreEntry]) { texts.withLock { $0 += entries.map(\.text) } }
        var all: [String] { texts.withLock { $0 } }
    }

    static func pool(
        _ provider: ScriptedProvider, texts: Int, width: Int, delivered: Deliveries = Deliveries(),
        interrupted: @escaping @Sendable () -> Bool = { false }
    ) -> RequestPool {
        RequestPool(
            provider: provider, limits: BatchLimits(texts: texts, bytes: 1 << 20), width: width, dimension: 1,
            reporter: Reporter(verbosity: .quiet, showProgress: false), onDelivery: { delivered.add($0) },
            interrupted: interrupted)
    }

    @Test func batchesStayUnderBothLimitsInOrder() {
        let texts = ["aaaa", "bb", "cccccc", "d", "eeeeeeeeeeee", "f", "g"]
        let batches = RequestPool.batches(texts, limits: BatchLimits(texts: 3, bytes: 8))
        #expect(batches == [[0, 1], [2, 3], [4], [5, 6]])
        // A text over the byte limit goes alone; none is left out.
        #expect(batches.flatMap { $0 } == Array(texts.indices))
    }

    @Test func everyMissIsComputedOnceAndDeliveredAsItsBatchIsAnswered() {
        let provider = ScriptedProvider()
        let delivered = Deliveries()
        let pool = Self.pool(provider, texts: 4, width: 3, delivered: delivered)
        let texts = (0..<10).map { "text \($0)" }
        let window = pool.submit(Self.misses(texts), from: Self.locations(10))
        let answered = window.wait()
        pool.close()
        #expect(answered.failure == nil && answered.rejections.isEmpty)
        #expect(Set(answered.computed.map(\.text)) == Set(texts))
        #expect(answered.computed.allSatisfy { $0.vector == [Float($0.text.count)] })
        #expect(provider.requests.map(\.count).sorted() == [2, 4, 4])
        #expect(delivered.all.sorted() == texts.sorted())
    }

    @Test func aRefusedTextIsSplitOffAndTheRestOfItsBatchIsEmbedded() {
        let provider = ScriptedProvider()
        let pool = Self.pool(provider, texts: 8, width: 1)
        // Two accepted batches first: a provider that accepted nothing
        // would be refusing the request, not the text.
        let warmUp = pool.submit(Self.misses(["one", "two"]), from: Self.locations(2))
        _ = warmUp.wait()
        var texts = (0..<8).map { "text \($0)" }
        texts[5] = "refused text"
        let window = pool.submit(Self.misses(texts), from: Self.locations(8))
        let answered = window.wait()
        pool.close()
        #expect(answered.failure == nil)
        #expect(Set(answered.computed.map(\.text)) == Set(texts).subtracting(["refused text"]))
        #expect(answered.rejections.keys.sorted() == [5])
        #expect(answered.rejections[5] == .rejected(provider: "scripted", message: "a text it will not take"))
        // Halved until the refused text stood alone: 8, 4 + 4, 2 + 2, 1 + 1.
        #expect(provider.requests.dropFirst().map(\.count) == [8, 4, 4, 2, 2, 1, 1])
    }

    @Test func aFailedRequestStopsThePoolAndWhatWasComputedIsKept() {
        let provider = ScriptedProvider()
        let pool = Self.pool(provider, texts: 2, width: 1)
        let first = pool.submit(Self.misses(["a", "b", "broken", "c", "d", "e"]), from: Self.locations(6))
        let second = pool.submit(Self.misses(["f", "g"]), from: Self.locations(2))
        let answered = first.wait()
        let after = second.wait()
        pool.close()
        #expect(answered.computed.map(\.text) == ["a", "b"])
        guard case .provider(_, let message)? = answered.failure as? EmbCacheError else {
            Issue.record("the failure was \(String(describing: answered.failure))")
            return
        }
        #expect(message.contains("the server broke"))
        // Nothing after the failure was sent.
        #expect(provider.requests == [["a", "b"], ["broken", "c"]])
        #expect(after.computed.isEmpty)
    }

    /// SIGINT while the first batch is in flight: it is answered and
    /// delivered, the batches still queued are never sent, and the window
    /// reports the interruption.
    @Test func anInterruptionDropsTheBatchesNotYetSentAndKeepsTheAnswered() {
        let signalled = Atomic<Bool>(false)
        let provider = ScriptedProvider(onRequest: { _ in signalled.store(true, ordering: .relaxed) })
        let delivered = Deliveries()
        let pool = Self.pool(
            provider, texts: 2, width: 1, delivered: delivered, interrupted: { signalled.load(ordering: .relaxed) })
        let window = pool.submit(Self.misses(["a", "b", "c", "d", "e", "f"]), from: Self.locations(6))
        let answered = window.wait()
        pool.close()
        #expect(provider.requests == [["a", "b"]])
        #expect(answered.computed.map(\.text) == ["a", "b"])
        #expect(delivered.all == ["a", "b"])
        guard case .interrupted? = answered.failure as? EmbCacheError else {
            Issue.record("the failure was \(String(describing: answered.failure))")
            return
        }
    }
}
