import Foundation
import Synchronization
import Testing

@testable import EmbCacheCore
@testable import EmbCacheKit
@testable import EmbCacheProviders
@testable import EmbCacheStore

/// ModelService against an in-memory store and a provider that records
/// its batches: gathering, limits, one computation per text, failures that
/// stay with their requests, answers only after the commit.
@Suite struct ModelServiceTests {
    /// A store in memory whose inserts can be held back.
    final class MemoryStore: VectorStore, @unchecked Sendable {
        let identity = ModelIdentity(name: "fake")
        var dimension: Int? { 4 }
        let rows = Mutex<[CacheKey: [Float]]>([:])
        /// Waited on before each insert, when set.
        let gate = Mutex<DispatchSemaphore?>(nil)

        func lookup(_ keys: [CacheKey]) throws -> [StoredVector] {
            rows.withLock { rows in keys.map { rows[$0].map(StoredVector.hit) ?? .miss } }
        }

        func insert(_ entries: [StoreEntry]) throws {
            gate.withLock { $0 }?.wait()
            rows.withLock { for entry in entries { $0[entry.key] = entry.vector } }
        }
    }

    /// Vectors from the text's bytes; "refuse" in a text makes its batch a
    /// refusal; each batch waits `latency`; `failures` batches fail first.
    final class RecordingProvider: EmbeddingProvider, Sendable {
        let name = "recording"
        let dimension: Int? = 4
        let limits: BatchLimits
        let latency: Duration
        let batches = Mutex<[[String]]>([])
        let failures: Mutex<Int>

        init(limits: BatchLimits = BatchLimits(texts: 64, bytes: 1 << 20), latency: Duration = .zero, failures: Int = 0)
        {
            self.limits = limits
            self.latency = latency
            self.failures = Mutex(failures)
        }

        static func vector(_ text: String) -> [Float] {
            let bytes = Array(text.utf8)
            return [Float(bytes.count), Float(bytes.first ?? 0), Float(bytes.last ?? 0), 1]
        }

        func embed(_ texts: [String]) throws -> [[Float]] {
            batches.withLock { $0.append(texts) }
            if latency > .zero { Thread.sleep(forTimeInterval: Double(latency / .seconds(1))) }
            if failures.withLock({ left in
                defer { left = max(0, left - 1) }
                return left > 0
            }) {
                throw EmbCacheError.provider(name: name, message: "upstream down")
            }
            if texts.contains(where: { $0.contains("refuse") }) {
                throw ProviderRejection(status: 400, message: "refused")
            }
            return texts.map(Self.vector)
        }
    }

    static func service(
        _ store: MemoryStore, _ provider: RecordingProvider, gather: Duration = .milliseconds(2), width: Int = 4
    ) -> ModelService {
        ModelService(
            identity: store.identity, store: store, provider: provider, limits: provider.limits, maxRequests: width,
            prefix: "", gatherDelay: gather, reporter: Reporter(verbosity: .quiet, showProgress: false))
    }

    /// Sends each input from a thread of its own, all at once, and waits
    /// for every answer.
    static func embedConcurrently(_ service: ModelService, _ inputs: [[String]]) -> [Result<
        ServedVectors, ServeFailure
    >] {
        let results = Mutex<[Int: Result<ServedVectors, ServeFailure>]>([:])
        let group = DispatchGroup()
        for (index, texts) in inputs.enumerated() {
            group.enter()
            Thread.detachNewThread {
                service.embed(texts) { result in
                    results.withLock { $0[index] = result }
                    group.leave()
                }
            }
        }
        group.wait()
        return results.withLock { results in inputs.indices.map { results[$0]! } }
    }

    static func unit(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return vector.map { Float(Double($0) / norm) }
    }

    @Test func eachTextIsComputedOnceWhateverTheRequestsShare() throws {
        let store = MemoryStore()
        let provider = RecordingProvider(latency: .milliseconds(50))
        let service = Self.service(store, provider)
        let inputs = (0..<40).map { ["common", "request \($0)", "common", "also common"] }
        let results = Self.embedConcurrently(service, inputs)
        for (texts, result) in zip(inputs, results) {
            let served = try result.get()
            #expect(served.vectors == texts.map { Self.unit(RecordingProvider.vector($0)) })
        }
        let sent = provider.batches.withLock { $0.flatMap { $0 } }
        #expect(sent.count == 42)
        #expect(Set(sent).count == 42)
        #expect(store.rows.withLock { $0.count } == 42)
        // A second round is answered from the store.
        let again = Self.embedConcurrently(service, inputs)
        #expect(again.allSatisfy { (try? $0.get().hits) == 3 })
        #expect(provider.batches.withLock { $0.flatMap { $0 } }.count == 42)
        service.close()
    }

    @Test func missesWithinTheDelayShareOneRequestUnderTheLimits() throws {
        let store = MemoryStore()
        let provider = RecordingProvider(limits: BatchLimits(texts: 8, bytes: 1 << 20))
        let service = Self.service(store, provider, gather: .milliseconds(300), width: 1)
        let results = Self.embedConcurrently(service, (0..<20).map { ["text \($0)"] })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let sizes = provider.batches.withLock { $0.map(\.count) }
        // Twenty misses within the delay: a full batch goes at once, the
        // rest in as few requests as the limit allows (three at best).
        #expect(sizes.reduce(0, +) == 20)
        #expect(sizes.allSatisfy { $0 <= 8 })
        #expect(sizes.count <= 4, "\(sizes)")
        service.close()
    }

    @Test func aFailedBatchFailsItsRequestsOnlyAndTheServiceGoesOn() throws {
        let store = MemoryStore()
        let provider = RecordingProvider(failures: 1)
        let service = Self.service(store, provider)
        let failed = Self.embedConcurrently(service, [["first"]])[0]
        guard case .failure(.provider) = failed else {
            Issue.record("expected a provider failure, got \(failed)")
            return
        }
        let later = Self.embedConcurrently(service, [["first"], ["second"]])
        #expect(later.allSatisfy { (try? $0.get()) != nil })
        service.close()
    }

    @Test func aRefusedTextFailsOnlyTheRequestThatHoldsIt() throws {
        let store = MemoryStore()
        let provider = RecordingProvider()
        let service = Self.service(store, provider, gather: .milliseconds(100))
        let results = Self.embedConcurrently(service, [["kept", "please refuse"], ["other"]])
        guard case .failure(.rejected(let index, _)) = results[0] else {
            Issue.record("expected a refusal, got \(results[0])")
            return
        }
        #expect(index == 1)
        #expect((try? results[1].get()) != nil)
        #expect(store.rows.withLock { $0.count } == 2)
        service.close()
    }

    @Test func anAnswerWaitsForItsCommit() throws {
        let store = MemoryStore()
        let gate = DispatchSemaphore(value: 0)
        store.gate.withLock { $0 = gate }
        let service = Self.service(store, RecordingProvider())
        let answered = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        service.embed(["held"]) { _ in
            answered.store(true, ordering: .relaxed)
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.2)
        let early = answered.load(ordering: .relaxed)
        #expect(!early)
        store.gate.withLock { $0 = nil }
        gate.signal()
        done.wait()
        #expect(store.rows.withLock { $0.count } == 1)
        service.close()
    }

    @Test func closeSendsWhatWaitsAndRefusesWhatComesAfter() throws {
        let store = MemoryStore()
        let service = Self.service(store, RecordingProvider(latency: .milliseconds(100)), gather: .seconds(5))
        let result = Mutex<Result<ServedVectors, ServeFailure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        service.embed(["waiting"]) { answer in
            result.withLock { $0 = answer }
            done.signal()
        }
        // The gather delay is far off: close sends it now.
        service.close()
        done.wait()
        #expect((try? result.withLock { $0 }?.get()) != nil)
        #expect(store.rows.withLock { $0.count } == 1)
        let after = Self.embedConcurrently(service, [["late"]])[0]
        guard case .failure(.closing) = after else {
            Issue.record("expected closing, got \(after)")
            return
        }
    }
}
