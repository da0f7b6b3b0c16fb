import Foundation
import Synchronization
import Testing

@testable import EmbCacheCore
@testable import EmbCacheKit
@testable import EmbCacheStore

@Suite struct CommitQueueTests {
    static func entries(_ names: [String]) -> [StoreEntry] {
        names.map { StoreEntry(key: CacheKey(text: $0), text: $0, vector: [Float($0.count)]) }
    }

    static func rows(_ count: Int) -> [OutputRow] {
        (0..<count).map { _ in OutputRow(bytes: Array("{}".utf8), isEmptyObject: true, text: nil, vector: [1]) }
    }

    /// A take on a thread of its own, as the committer's.
    final class Taker: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let result = Mutex<[StoreEntry]?>(nil)

        init(_ queue: CommitQueue) {
            let shared = UnsafeSendable(queue)
            Thread.detachNewThread { [self] in
                let entries = shared.value.take(limit: 4)?.entries
                result.withLock { $0 = entries }
                done.signal()
            }
        }

        /// What it took once it returns; nil while it has not within
        /// `seconds`.
        func taken(within seconds: Double) -> [StoreEntry]? {
            guard done.wait(timeout: .now() + seconds) == .success else { return nil }
            done.signal()
            return result.withLock { $0 }
        }
    }

    @Test func vectorsAreTakenOnceTheThresholdIsPending() throws {
        let queue = CommitQueue(capacity: 2, threshold: 3)
        queue.add(Self.entries(["a", "b"]))
        let taker = Taker(queue)
        // Two of three: the committer keeps waiting.
        #expect(taker.taken(within: 0.2) == nil)
        queue.add(Self.entries(["c"]))
        let taken = try #require(taker.taken(within: 10))
        #expect(Set(taken.map(\.text)) == ["a", "b", "c"])
        queue.close()
        #expect(queue.take(limit: 4) == nil)
    }

    @Test func rowsTakeEveryVectorAddedBeforeThemBelowTheThreshold() throws {
        let queue = CommitQueue(capacity: 2, threshold: 100)
        queue.add(Self.entries(["a", "b"]))
        queue.addRows(Self.rows(2))
        let work = try #require(queue.take(limit: 4))
        #expect(Set(work.entries.map(\.text)) == ["a", "b"])
        #expect(work.windows.map(\.count) == [2])
    }

    @Test func windowsComeInOrderAndAtMostTheLimitAtOnce() throws {
        let queue = CommitQueue(capacity: 5, threshold: 100)
        for count in 1...3 { queue.addRows(Self.rows(count)) }
        #expect(try #require(queue.take(limit: 2)).windows.map(\.count) == [1, 2])
        #expect(try #require(queue.take(limit: 2)).windows.map(\.count) == [3])
    }

    @Test func aVectorIsFoundFromItsAnswerToItsCommit() throws {
        let queue = CommitQueue(capacity: 2, threshold: 1)
        let added = Self.entries(["a", "b"])
        queue.add(added)
        let keys = added.map(\.key) + [CacheKey(text: "c")]
        #expect(queue.vectors(for: keys) == [added[0].key: [1], added[1].key: [1]])
        // Taken, not yet committed: still found.
        let work = try #require(queue.take(limit: 4))
        #expect(queue.vectors(for: keys).count == 2)
        queue.committed(work.entries)
        #expect(queue.vectors(for: keys).isEmpty)
    }

    @Test func rowsWaitWhileTheQueueIsFullOfWindows() throws {
        let queue = CommitQueue(capacity: 1, threshold: 100)
        queue.addRows(Self.rows(1))
        let shared = UnsafeSendable(queue)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            shared.value.addRows(Self.rows(2))
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 0.2) == .timedOut)
        #expect(try #require(queue.take(limit: 4)).windows.map(\.count) == [1])
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(try #require(queue.take(limit: 4)).windows.map(\.count) == [2])
    }

    @Test func closingHandsOutWhatIsLeftThenNothing() throws {
        let queue = CommitQueue(capacity: 2, threshold: 100)
        queue.add(Self.entries(["a"]))
        queue.close()
        #expect(try #require(queue.take(limit: 4)).entries.map(\.text) == ["a"])
        #expect(queue.take(limit: 4) == nil)
        #expect(!queue.addRows(Self.rows(1)))
    }
}
