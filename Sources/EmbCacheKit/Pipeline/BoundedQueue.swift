import Foundation

/// A FIFO between two threads that holds at most `capacity` items: the
/// producer waits while it is full, so memory stays bounded by the
/// stages, never by the input. Closing wakes both sides.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private let capacity: Int
    private var closed = false

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Waits for room; false when the queue was closed (the item is dropped).
    @discardableResult
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once the queue is closed and empty.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// The first item if one is queued now; nil otherwise, without waiting.
    func popIfQueued() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// Waits for an item, then takes it with up to `limit - 1` more that
    /// are already queued; empty once the queue is closed and empty.
    func popAvailable(limit: Int) -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        let taken = Array(items.prefix(limit))
        items.removeFirst(taken.count)
        condition.broadcast()
        return taken
    }

    /// No more pushes; what is queued can still be popped.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
