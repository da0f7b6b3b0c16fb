import Foundation
import Synchronization
import Testing

@testable import EmbCacheCore
@testable import EmbCacheKit
@testable import EmbCacheStore

/// The commit and writer stages against a store and a writer that record
/// what they were given, and fail when told to.
@Suite struct CommitAndOutputStageTests {
    struct Failure: Error, Equatable { var what: String }

    /// Keeps what each insert committed; the insert numbered `failing`
    /// (from 1) throws instead.
    final class RecordingStore: VectorStore, @unchecked Sendable {
        let identity = ModelIdentity(name: "stage-test")
        var dimension: Int? { 1 }
        private let state = Mutex<(inserts: Int, keys: Set<CacheKey>)>((0, []))
        let failing: Int?

        init(failing: Int? = nil) { self.failing = failing }

        var committed: Set<CacheKey> { state.withLock { $0.keys } }

        func lookup(_ keys: [CacheKey]) throws -> [StoredVector] { keys.map { _ in .miss } }

        func insert(_ entries: [StoreEntry]) throws {
            try state.withLock { state in
                state.inserts += 1
                if state.inserts == failing { throw Failure(what: "insert \(state.inserts)") }
                state.keys.formUnion(entries.map(\.key))
            }
        }
    }

    /// Keeps each window written, and whether every row's text was
    /// committed when it was; the write numbered `failing` throws.
    final class RecordingWriter: RecordWriter, @unchecked Sendable {
        private let state = Mutex<(writes: Int, windows: [[String]], uncommitted: [String])>((0, [], []))
        let store: RecordingStore
        let failing: Int?

        init(store: RecordingStore, failing: Int? = nil) {
            self.store = store
            self.failing = failing
        }

        var windows: [[String]] { state.withLock { $0.windows } }
        var uncommitted: [String] { state.withLock { $0.uncommitted } }

        func write(_ rows: [OutputRow]) throws {
            let committed = store.committed
            try state.withLock { state in
                state.writes += 1
                if state.writes == failing { throw Failure(what: "write \(state.writes)") }
                let texts = rows.map { $0.text ?? "" }
                state.uncommitted += texts.filter { !committed.contains(CacheKey(text: $0)) }
                state.windows.append(texts)
            }
        }

        func finish(dimension: Int?) throws {}
    }

    static func entries(_ texts: [String]) -> [StoreEntry] {
        texts.map { StoreEntry(key: CacheKey(text: $0), text: $0, vector: [1]) }
    }

    static func rows(_ texts: [String]) -> [OutputRow] {
        texts.map { OutputRow(bytes: Array("{}".utf8), isEmptyObject: true, text: $0, vector: [1]) }
    }

    /// Windows of three texts; each window's vectors added, then its rows,
    /// as the slots and the main stage do.
    static func feed(_ queue: CommitQueue, windows: Int) {
        for window in 0..<windows {
            let texts = (0..<3).map { "w\(window) t\($0)" }
            queue.add(entries(texts))
            queue.addRows(rows(texts))
        }
    }

    @Test func rowsAreWrittenInOrderOnceTheirVectorsAreCommitted() {
        let store = RecordingStore()
        let writer = RecordingWriter(store: store)
        let output = OutputStage(writer: writer)
        let queue = CommitQueue(capacity: 2, threshold: 2)
        let committer = CommitStage(store: store, queue: queue, output: output)
        Self.feed(queue, windows: 20)
        committer.finish()
        output.finish()
        #expect(committer.failure == nil && output.failure == nil)
        #expect(writer.windows == (0..<20).map { window in (0..<3).map { "w\(window) t\($0)" } })
        #expect(writer.uncommitted.isEmpty, "written before their commit: \(writer.uncommitted)")
        #expect(store.committed.count == 60)
    }

    /// Both stages over `windows` windows, one window a transaction (the
    /// threshold is out of reach, the rows end each take), run to the end.
    static func runOneWindowATransaction(_ store: RecordingStore, _ writer: RecordingWriter, windows: Int)
        -> (CommitStage, OutputStage)
    {
        let output = OutputStage(writer: writer)
        let queue = CommitQueue(capacity: 1, threshold: 1000)
        let committer = CommitStage(store: store, queue: queue, output: output)
        feed(queue, windows: windows)
        committer.finish()
        output.finish()
        return (committer, output)
    }

    @Test func afterAFailedCommitNothingMoreIsCommittedOrWritten() {
        let store = RecordingStore(failing: 2)
        let writer = RecordingWriter(store: store)
        let (committer, _) = Self.runOneWindowATransaction(store, writer, windows: 5)
        #expect((committer.failure as? Failure)?.what == "insert 2")
        // The first window was written; nothing after the failed insert
        // was committed (the first may have taken the second window's
        // vectors, which arrive before its rows).
        #expect(writer.windows == [["w0 t0", "w0 t1", "w0 t2"]])
        let firstTwo = Set((0..<2).flatMap { window in (0..<3).map { CacheKey(text: "w\(window) t\($0)") } })
        #expect(store.committed.isSubset(of: firstTwo))
        #expect(store.committed.isSuperset(of: (0..<3).map { CacheKey(text: "w0 t\($0)") }))
    }

    @Test func afterAFailedWriteNothingMoreIsWrittenAndCommitsGoOn() {
        let store = RecordingStore()
        let writer = RecordingWriter(store: store, failing: 2)
        let (committer, output) = Self.runOneWindowATransaction(store, writer, windows: 6)
        #expect((output.failure as? Failure)?.what == "write 2")
        #expect(writer.windows == [["w0 t0", "w0 t1", "w0 t2"]])
        // Nothing computed is lost: every window's vectors are committed.
        #expect(store.committed.count == 18)
        #expect(committer.failure == nil)
    }
}
