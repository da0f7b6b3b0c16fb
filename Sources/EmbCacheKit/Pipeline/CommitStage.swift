import EmbCacheCore
import EmbCacheStore
import Foundation
import Synchronization

/// The commit stage: takes the vectors of a CommitQueue into the store in
/// transactions, on a thread of its own, and hands each window's rows to
/// the output once every vector they show is committed, in window order.
/// After a failed commit nothing more is committed or written; the
/// failure waits for the main stage to see it.
final class CommitStage: Sendable {
    private let queue: CommitQueue
    private let failed = Mutex<Error?>(nil)
    private let done = DispatchGroup()

    /// Windows taken into one transaction at most, when commits fall
    /// behind: every index page they share is written once.
    static let windowsPerCommit = 4

    init(store: VectorStore, queue: CommitQueue, output: OutputStage) {
        self.queue = queue
        let store = UnsafeSendable(store)
        done.enter()
        Thread.detachNewThread { [self] in
            ThreadPriority.lowerForBackgroundWork()
            while let work = queue.take(limit: Self.windowsPerCommit) {
                guard failed.withLock({ $0 == nil }) else { continue }
                do {
                    try store.value.insert(work.entries)
                    queue.committed(work.entries)
                    for rows in work.windows { output.write(rows) }
                } catch {
                    failed.withLock { $0 = error }
                }
            }
            done.leave()
        }
    }

    /// The commit that failed, if one did.
    var failure: Error? { failed.withLock { $0 } }

    /// Commits what is left (no vector or window may be added after) and
    /// ends the thread.
    func finish() {
        queue.close()
        done.wait()
    }
}
