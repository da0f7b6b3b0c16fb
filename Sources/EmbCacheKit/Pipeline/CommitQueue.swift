import EmbCacheCore
import EmbCacheStore
import Foundation

/// What the commit stage has yet to do: the vectors computed and not yet
/// committed, and the windows whose rows wait for them. It is the one
/// place that holds a computed vector between its batch's answer and its
/// commit, so a window looked up meanwhile takes it from here instead of
/// sending its text again.
///
/// The request slots add each batch's vectors as the answer arrives, and
/// the committer takes them in transactions of `threshold` or more while
/// the window's other batches are still in flight: at the end of a run
/// only the last few batches are left to commit, not a whole window. A
/// window's rows are added once all its batches are in, after its
/// vectors, so the transaction that takes them holds every vector they
/// show; only `capacity` windows wait, which holds back the main stage
/// when commits fall behind.
final class CommitQueue: @unchecked Sendable {
    /// Vectors the committer takes at least, unless rows wait or the queue
    /// is closed: enough that a transaction's fixed cost (two commits, the
    /// schema checks) is small against its inserts.
    static let defaultThreshold = 1024

    private let condition = NSCondition()
    private let capacity: Int
    private let threshold: Int
    /// Added and not yet taken, in the order they came.
    private var pending: [StoreEntry] = []
    /// Every vector added and not yet committed, taken or not.
    private var uncommitted: [CacheKey: [Float]] = [:]
    private var windows: [[OutputRow]] = []
    private var closed = false

    /// `capacity` windows' rows may wait; the committer takes vectors once
    /// `threshold` are pending.
    init(capacity: Int, threshold: Int = CommitQueue.defaultThreshold) {
        self.capacity = max(1, capacity)
        self.threshold = max(1, threshold)
    }

    /// Vectors just computed (a batch's answer). Never waits: what is
    /// computed is bounded by the windows sent, which `addRows` bounds.
    func add(_ entries: [StoreEntry]) {
        guard !entries.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        pending.append(contentsOf: entries)
        for entry in entries { uncommitted[entry.key] = entry.vector }
        if pending.count >= threshold { condition.broadcast() }
    }

    /// A window's rows, written once every vector added before them is
    /// committed. Waits while `capacity` windows wait; false when the queue
    /// was closed.
    @discardableResult
    func addRows(_ rows: [OutputRow]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while windows.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        windows.append(rows)
        condition.broadcast()
        return true
    }

    /// Waits for work: every pending vector and up to `limit` windows'
    /// rows, once rows wait, `threshold` vectors are pending, or the queue
    /// is closed. nil once it is closed and nothing is left. The vectors
    /// stay visible to `vectors(for:)` until `committed` is called.
    func take(limit: Int) -> (entries: [StoreEntry], windows: [[OutputRow]])? {
        condition.lock()
        defer { condition.unlock() }
        while windows.isEmpty && pending.count < threshold && !closed { condition.wait() }
        guard !pending.isEmpty || !windows.isEmpty else { return nil }
        let entries = pending
        pending = []
        let taken = Array(windows.prefix(limit))
        windows.removeFirst(taken.count)
        condition.broadcast()
        return (entries, taken)
    }

    /// The vectors `take` gave are in the store: lookups find them there.
    func committed(_ entries: [StoreEntry]) {
        condition.lock()
        defer { condition.unlock() }
        for entry in entries { uncommitted[entry.key] = nil }
    }

    /// Those of `keys` computed and not yet committed. Only those: a copy
    /// of the whole table would share its storage until the next change,
    /// which then copies every entry under the lock.
    func vectors(for keys: [CacheKey]) -> [CacheKey: [Float]] {
        condition.lock()
        defer { condition.unlock() }
        var found: [CacheKey: [Float]] = [:]
        guard !uncommitted.isEmpty else { return found }
        for key in keys { if let vector = uncommitted[key] { found[key] = vector } }
        return found
    }

    /// No more rows or vectors (the request slots are done): `take` hands
    /// out what is left, then nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
