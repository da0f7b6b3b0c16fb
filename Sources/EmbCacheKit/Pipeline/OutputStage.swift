import EmbCacheCore
import Foundation
import Synchronization

/// The writer stage: windows' rows written in the order they are handed
/// in, on a thread of its own, while the stages before it go on. Unlike
/// the commits, it keeps the slots' priority: in a run answered from the
/// cache the writer is the slowest stage (nice 5 made a warm 100k-record
/// JSON Lines run 3% slower, and changed nothing at 8 or 32 requests in
/// flight). After a failed write nothing more is written (the output must
/// not go on past a gap); the failure waits for the main stage to see it.
final class OutputStage: Sendable {
    private let rows = BoundedQueue<[OutputRow]>(capacity: 2)
    private let failed = Mutex<Error?>(nil)
    private let done = DispatchGroup()

    init(writer: RecordWriter) {
        let writer = UnsafeSendable(writer)
        done.enter()
        Thread.detachNewThread { [self] in
            while let window = rows.pop() {
                guard failed.withLock({ $0 == nil }) else { continue }
                do {
                    try writer.value.write(window)
                } catch {
                    failed.withLock { $0 = error }
                    // Stop taking rows: whoever hands them in sees the failure.
                    rows.close()
                }
            }
            done.leave()
        }
    }

    /// Queues a window's rows; waits while two are queued.
    func write(_ window: [OutputRow]) {
        guard !window.isEmpty else { return }
        rows.push(window)
    }

    /// The write that failed, if one did.
    var failure: Error? { failed.withLock { $0 } }

    /// Writes what is queued and ends the thread.
    func finish() {
        rows.close()
        done.wait()
    }
}
