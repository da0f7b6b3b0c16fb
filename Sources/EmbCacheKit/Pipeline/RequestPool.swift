import EmbCacheCore
import EmbCacheProviders
import EmbCacheStore
import Foundation
import Synchronization

/// The provider's requests of every window, up to `--max-requests` at once,
/// served in the order windows submit them. A window's batches are queued as
/// soon as it is looked up, so the requests of the next window are in
/// flight while the store commits the one before: the provider, not the
/// commit, sets the pace.
final class RequestPool: Sendable {
    private let provider: EmbeddingProvider
    private let limits: BatchLimits
    private let queue = BoundedQueue<(WindowRequests, Int)>(capacity: .max)
    private let width: Int
    /// Batches queued and not yet taken by a slot.
    private let waiting = Atomic<Int>(0)
    private let workers = DispatchGroup()
    /// Set by the first failure: every batch still queued is dropped.
    private let stopped = Atomic<Bool>(false)
    /// Whether a failed batch stops the pool (the filter, whose run ends
    /// there) or fails alone (the server, whose next requests may succeed).
    private let stopsAtFailure: Bool
    /// Slots sending a batch.
    private let busy = Atomic<Int>(0)
    /// Every batch is held to one dimension as it arrives, so a batch that
    /// disagrees fails alone and the good ones are still committed.
    private let dimension: Mutex<Int?>
    private let tally = RejectionTally()
    private let reporter: Reporter
    /// Called with each batch's vectors as they arrive, from the slot's
    /// thread (the filter's commit stage takes them from there).
    private let onDelivery: (@Sendable ([StoreEntry]) -> Void)?
    /// Whether SIGINT or SIGTERM has arrived (a test's own flag).
    private let interrupted: @Sendable () -> Bool

    init(
        provider: EmbeddingProvider, limits: BatchLimits, width: Int, dimension: Int?, reporter: Reporter,
        stopsAtFailure: Bool = true, onSlotFree: (@Sendable () -> Void)? = nil,
        onDelivery: (@Sendable ([StoreEntry]) -> Void)? = nil,
        interrupted: @escaping @Sendable () -> Bool = { Interrupt.isRequested }
    ) {
        self.provider = provider
        self.interrupted = interrupted
        self.onDelivery = onDelivery
        self.stopsAtFailure = stopsAtFailure
        self.onSlotFree = onSlotFree
        self.limits = limits
        self.dimension = Mutex(dimension)
        self.reporter = reporter
        self.width = max(1, width)
        for _ in 0..<self.width {
            workers.enter()
            Thread.detachNewThread { [self] in
                while let (window, index) = queue.pop() {
                    busy.add(1, ordering: .releasing)
                    waiting.subtract(1, ordering: .releasing)
                    if stopped.load(ordering: .relaxed) || interrupted() {
                        window.skip(index)
                    } else {
                        run(window, index)
                    }
                    busy.subtract(1, ordering: .relaxed)
                    onSlotFree?()
                }
                workers.leave()
            }
        }
    }

    /// Queues the misses of one window in batches under the limits;
    /// `finished`, if given, is called once its last batch is done.
    func submit(
        _ misses: [StoreEntry], from locations: [SourceLocation], finished: (@Sendable (WindowRequests) -> Void)? = nil
    ) -> WindowRequests {
        let batches = Self.batches(misses.map(\.text), limits: limits)
        let window = WindowRequests(
            misses: misses, locations: locations, batches: batches, interrupted: interrupted, finished: finished)
        waiting.add(batches.count, ordering: .relaxed)
        for index in batches.indices { queue.push((window, index)) }
        return window
    }

    /// Splits texts, in order, into batches under both limits; a text over
    /// the byte limit goes alone.
    static func batches(_ texts: [String], limits: BatchLimits) -> [[Int]] {
        var batches: [[Int]] = []
        var current: [Int] = []
        var bytes = 0
        for (index, text) in texts.enumerated() {
            let size = text.utf8.count
            if !current.isEmpty && (current.count == limits.texts || bytes + size > limits.bytes) {
                batches.append(current)
                current = []
                bytes = 0
            }
            current.append(index)
            bytes += size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// Fewer batches wait than two rounds of the slots take: a slot may
    /// soon free with nothing to send unless more is queued.
    var isShortOfWork: Bool { waiting.load(ordering: .relaxed) < 2 * width }

    /// No batch is being sent or waits for a slot.
    var isIdle: Bool {
        // Waiting first: a slot counts itself busy before it counts its
        // batch out of the queue, so a batch taken between the reads is seen.
        let queued = waiting.load(ordering: .acquiring)
        return queued + busy.load(ordering: .acquiring) == 0
    }

    /// Called after a slot finishes a batch, from that slot's thread (the
    /// server's gatherer waits for a free slot).
    private let onSlotFree: (@Sendable () -> Void)?

    /// Drops every batch not yet sent; those in flight finish.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        provider.cancel()
    }

    /// Lets the workers finish what is queued and waits for them.
    func close() {
        queue.close()
        workers.wait()
    }

    private func run(_ window: WindowRequests, _ index: Int) {
        do {
            try embed(window, window.batches[index][...])
            window.finish(index, failure: nil)
        } catch {
            if stopsAtFailure { stopped.store(true, ordering: .relaxed) }
            window.finish(index, failure: error)
        }
    }

    /// Embeds one batch. A batch the provider refuses for its content is
    /// split in two, and again, until the text it refuses stands alone:
    /// that record follows `--on-error`, every other text is embedded.
    private func embed(_ window: WindowRequests, _ positions: ArraySlice<Int>) throws {
        if let rejection = try attempt(window, positions) { try split(window, positions, rejection) }
    }

    /// Both halves of a refused batch are sent before either is split
    /// further, so a half the provider accepts counts before lone texts are
    /// refused (which, with nothing accepted, would stop the run).
    private func split(_ window: WindowRequests, _ positions: ArraySlice<Int>, _ rejection: ProviderRejection) throws {
        guard positions.count > 1 else {
            try tally.reject(provider: provider.name, rejection)
            window.reject(positions.first!, .rejected(provider: provider.name, message: rejection.message))
            return
        }
        let middle = positions.startIndex + positions.count / 2
        var refused: [(ArraySlice<Int>, ProviderRejection)] = []
        for half in [positions[..<middle], positions[middle...]] {
            if let rejection = try attempt(window, half) { refused.append((half, rejection)) }
        }
        for (half, rejection) in refused { try split(window, half, rejection) }
    }

    /// One request for these texts: their vectors are delivered, or the
    /// provider's refusal of their content is returned.
    private func attempt(_ window: WindowRequests, _ positions: ArraySlice<Int>) throws -> ProviderRejection? {
        if interrupted() { throw EmbCacheError.interrupted }
        let vectors: [[Float]]
        do {
            vectors = try provider.embedChecked(
                positions.map { window.misses[$0].text }, dimension: dimension.withLock { $0 })
        } catch let rejection as ProviderRejection {
            return rejection
        } catch EmbCacheError.provider(let name, let message) {
            throw EmbCacheError.provider(name: name, message: "\(window.name(positions)): \(message)")
        }
        try dimension.withLock { known in
            guard let first = vectors.first?.count, let expected = known ?? Optional(first), first == expected else {
                throw EmbCacheError.provider(
                    name: provider.name,
                    message:
                        "\(window.name(positions)): \(vectors.first?.count ?? 0)-dimensional vectors after \(known ?? 0)-dimensional ones"
                )
            }
            known = expected
        }
        tally.accept(positions.count)
        let entries = window.deliver(positions, vectors)
        onDelivery?(entries)
        reporter.update { $0.batches += 1 }
        return nil
    }
}

/// The requests of one window: its batches' results as they arrive, and a
/// wait for the last of them.
final class WindowRequests: Sendable {
    let misses: [StoreEntry]
    let locations: [SourceLocation]
    let batches: [[Int]]

    private struct State {
        var remaining: Int
        var computed: [StoreEntry] = []
        /// Texts the provider refused one by one, by their place among the
        /// misses.
        var rejections: [Int: InputProblem] = [:]
        var failure: Error?
        var skipped = false
    }

    private let state: Mutex<State>
    private let done = DispatchSemaphore(value: 0)
    private let finished: (@Sendable (WindowRequests) -> Void)?
    private let interrupted: @Sendable () -> Bool

    init(
        misses: [StoreEntry], locations: [SourceLocation], batches: [[Int]],
        interrupted: @escaping @Sendable () -> Bool = { Interrupt.isRequested },
        finished: (@Sendable (WindowRequests) -> Void)? = nil
    ) {
        self.interrupted = interrupted
        self.misses = misses
        self.locations = locations
        self.batches = batches
        self.finished = finished
        state = Mutex(State(remaining: batches.count))
        if batches.isEmpty {
            done.signal()
            finished?(self)
        }
    }

    /// "batch of 256 texts from stdin:1025", for messages.
    func name(_ positions: ArraySlice<Int>) -> String {
        "batch of \(positions.count) text\(positions.count == 1 ? "" : "s") from \(locations[positions.first!])"
    }

    /// Records a batch's vectors and returns them as entries to store.
    @discardableResult
    func deliver(_ positions: ArraySlice<Int>, _ vectors: [[Float]]) -> [StoreEntry] {
        let entries = zip(positions, vectors).map { position, vector in
            var entry = misses[position]
            entry.vector = vector
            return entry
        }
        state.withLock { $0.computed.append(contentsOf: entries) }
        return entries
    }

    func reject(_ position: Int, _ problem: InputProblem) {
        state.withLock { $0.rejections[position] = problem }
    }

    func finish(_ index: Int, failure: Error?) {
        let last = state.withLock { state in
            if let failure, state.failure == nil { state.failure = failure }
            state.remaining -= 1
            return state.remaining == 0
        }
        if last {
            done.signal()
            finished?(self)
        }
    }

    func skip(_ index: Int) {
        state.withLock { $0.skipped = true }
        finish(index, failure: nil)
    }

    /// Waits for every batch: what was computed, what was refused, and the
    /// first failure (an interruption when batches were dropped for one).
    func wait() -> (computed: [StoreEntry], rejections: [Int: InputProblem], failure: Error?) {
        done.wait()
        done.signal()
        return state.withLock { state in
            let failure = state.failure ?? (state.skipped && interrupted() ? EmbCacheError.interrupted : nil)
            return (state.computed, state.rejections, failure)
        }
    }
}

/// Texts the provider accepted and refused over the whole run. A provider
/// that refuses text after text alone and has accepted none is refusing the
/// request, not the texts (a bad parameter, a model it does not serve):
/// that stops the run instead of splitting every batch down to single texts.
final class RejectionTally: Sendable {
    static let refusalsBeforeGivingUp = 3
    private let counts = Mutex<(accepted: Int, rejected: Int)>((0, 0))

    func accept(_ count: Int) {
        counts.withLock { $0.accepted += count }
    }

    func reject(provider: String, _ rejection: ProviderRejection) throws {
        try counts.withLock { counts in
            counts.rejected += 1
            if counts.accepted == 0 && counts.rejected >= Self.refusalsBeforeGivingUp {
                throw EmbCacheError.provider(
                    name: provider,
                    message:
                        "refused \(counts.rejected) texts one by one and accepted none, so the request itself is wrong: \(rejection.message)"
                )
            }
        }
    }
}
