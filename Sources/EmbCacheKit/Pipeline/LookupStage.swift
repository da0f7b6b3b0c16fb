import EmbCacheCore
import EmbCacheStore

/// The lookup stage: answers a window's texts from the store, from the
/// vectors computed and not yet committed, or from an earlier window that
/// sent the same text and has not finished, and sends only the rest to the
/// request slots. Once a window's requests are answered it makes the
/// window's output rows, in input order, under `--on-error`. Windows are
/// begun and finished in input order, on one thread.
final class LookupStage {
    /// A window looked up, its misses sent, waiting to be finished.
    struct Window {
        var records: [Record]
        /// What the store answered.
        var vectors: [CacheKey: [Float]]
        var requests: WindowRequests?
        /// Misses that a window before sent and has not finished: not sent
        /// twice.
        var borrowed: [CacheKey]
        /// Vectors computed by earlier windows, not yet committed.
        var recent: [CacheKey: [Float]]
        /// The keys this window sent.
        var sent: Set<CacheKey>
        /// A bad record that ends the run after this window's earlier ones.
        var stop: EmbCacheError?
        /// Bytes of input read up to the end of the window.
        var inputEnd = 0
    }

    private let store: VectorStore
    private let commits: CommitQueue
    /// Nil when the run never computes (`get`, `--offline`).
    private let pool: RequestPool?
    private let mode: InputMode
    private let onError: ErrorPolicy
    private let reporter: Reporter
    private let interrupted: () -> Bool

    /// Keys sent by windows begun and not finished.
    private var sending: Set<CacheKey> = []
    /// For each key that windows borrowed: what its sender computed (or
    /// had refused) once it finished, and how many borrowers still wait.
    private var handoff: [CacheKey: Handoff] = [:]

    private struct Handoff {
        var vector: [Float]?
        var problem: InputProblem?
        var waiting = 0
    }

    init(
        store: VectorStore, commits: CommitQueue, pool: RequestPool?, mode: InputMode, onError: ErrorPolicy,
        reporter: Reporter, interrupted: @escaping () -> Bool = { Interrupt.isRequested }
    ) {
        self.store = store
        self.commits = commits
        self.pool = pool
        self.mode = mode
        self.onError = onError
        self.reporter = reporter
        self.interrupted = interrupted
    }

    /// Looks a window up and sends its misses.
    func begin(_ decoded: [Record], inputEnd: Int = 0) throws -> Window {
        if interrupted() { throw EmbCacheError.interrupted }
        var records = decoded
        reporter.update { $0.records += records.count }

        // A bad record stops a failing run where it stands: nothing after
        // it is computed, everything before it is.
        var stop: EmbCacheError?
        if onError == .fail,
            let bad = records.firstIndex(where: { if case .failure = $0.content { true } else { false } }),
            case .failure(let problem) = records[bad].content
        {
            stop = .input(records[bad].location, problem)
            records.removeSubrange(bad...)
        }

        var texts: [CacheKey: String] = [:]
        var order: [CacheKey] = []
        var locations: [CacheKey: SourceLocation] = [:]
        texts.reserveCapacity(records.count)
        order.reserveCapacity(records.count)
        locations.reserveCapacity(records.count)
        for record in records {
            guard case .success(let content) = record.content else { continue }
            if texts.updateValue(content.text, forKey: content.key) == nil {
                order.append(content.key)
                locations[content.key] = record.location
            }
        }
        var vectors: [CacheKey: [Float]] = [:]
        vectors.reserveCapacity(order.count)
        var misses: [StoreEntry] = []
        var borrowed: [CacheKey] = []
        var recent: [CacheKey: [Float]] = [:]
        // Taken before the lookup: a vector committed in between is in one
        // or the other.
        let pendingCommits = commits.vectors(for: order)
        for (key, found) in zip(order, try store.lookup(order)) {
            switch found {
            case .hit(let vector):
                vectors[key] = vector
            case _ where pendingCommits[key] != nil:
                recent[key] = pendingCommits[key]
            case _ where sending.contains(key):
                borrowed.append(key)
                handoff[key, default: Handoff()].waiting += 1
            case .miss:
                misses.append(StoreEntry(key: key, text: texts[key]!, vector: []))
            case .invalid(let why) where pool == nil:
                reporter.warn(
                    "cached vector \(key.hex.prefix(16))… is corrupt (\(why)); get and --offline never compute, "
                        + "so it is not replaced (embcache verify --repair deletes it)")
            case .invalid(let why):
                reporter.warn("cached vector \(key.hex.prefix(16))… is unusable (\(why)); computing it again")
                misses.append(StoreEntry(key: key, text: texts[key]!, vector: [], replacesInvalid: true))
            }
        }
        var hitCount = 0
        for record in records {
            if case .success(let content) = record.content, vectors[content.key] != nil { hitCount += 1 }
        }
        reporter.update { $0.hits += hitCount }
        let requests = misses.isEmpty ? nil : pool?.submit(misses, from: misses.map { locations[$0.key]! })
        let sent: Set<CacheKey> = requests == nil ? [] : Set(misses.map(\.key))
        sending.formUnion(sent)
        return Window(
            records: records, vectors: vectors, requests: requests, borrowed: borrowed, recent: recent, sent: sent,
            stop: stop, inputEnd: inputEnd)
    }

    /// Waits for a window's requests and makes its rows. Throws a failed
    /// request (the window's vectors were delivered to the commit stage as
    /// each batch was answered, so the computed ones are committed anyway);
    /// otherwise returns the rows to write and, under `--on-error fail`,
    /// the error that ends the run after them.
    func finish(_ window: Window) throws -> (rows: [OutputRow], end: EmbCacheError?) {
        let answered = window.requests?.wait() ?? (computed: [], rejections: [:], failure: nil)
        var vectors = window.vectors
        var rejections: [CacheKey: InputProblem] = [:]
        for entry in answered.computed { vectors[entry.key] = entry.vector }
        for (position, problem) in answered.rejections {
            rejections[window.requests!.misses[position].key] = problem
        }
        // Windows finish in input order: a key's sender before its borrowers.
        for key in window.sent {
            sending.remove(key)
            guard handoff[key] != nil else { continue }
            handoff[key]!.vector = vectors[key]
            handoff[key]!.problem = rejections[key]
        }
        for key in window.borrowed {
            guard let handed = handoff[key] else { continue }
            vectors[key] = handed.vector
            rejections[key] = handed.problem
            if handed.waiting <= 1 { handoff[key] = nil } else { handoff[key]!.waiting -= 1 }
        }
        for (key, vector) in window.recent { vectors[key] = vector }
        let computedKeys = Set(answered.computed.map(\.key)).union(window.borrowed).union(window.recent.keys)
        var computedCount = 0
        for record in window.records {
            if case .success(let content) = record.content, computedKeys.contains(content.key) { computedCount += 1 }
        }
        reporter.update {
            $0.computed += computedCount
            $0.uniqueComputed += answered.computed.count
            $0.inputBytes = max($0.inputBytes, window.inputEnd)
        }
        if let failure = answered.failure { throw failure }
        let (rows, missing) = rows(for: window.records, vectors, rejections)
        return (rows, missing ?? window.stop)
    }

    /// A window sent before the run failed: its requests in flight finish
    /// (and are committed, as every answer is), nothing of it is written.
    func abandon(_ window: Window) {
        pool?.stop()
        _ = window.requests?.wait()
    }

    /// The output rows of a window, in order. Under `--on-error fail` the
    /// rows stop before the first record without a vector, which is
    /// returned as the error.
    private func rows(
        for records: [Record], _ vectors: [CacheKey: [Float]], _ rejections: [CacheKey: InputProblem]
    ) -> ([OutputRow], EmbCacheError?) {
        var rows: [OutputRow] = []
        rows.reserveCapacity(records.count)
        // A row keeps its text only when the output is made of it: a
        // record's text is released once committed, not held until written.
        let keepsText = mode == .lines
        for record in records {
            var problem: InputProblem
            switch record.content {
            case .success(let content):
                if let vector = vectors[content.key] {
                    rows.append(
                        OutputRow(
                            bytes: record.bytes, isEmptyObject: record.object == .empty,
                            text: keepsText || record.textOffset != nil ? content.text : nil, vector: vector,
                            textOffset: record.textOffset))
                    continue
                }
                problem = rejections[content.key] ?? .notInCache
            case .failure(let failure):
                problem = failure
            }
            switch onError {
            case .fail:
                return (rows, .input(record.location, problem))
            case .skip:
                reporter.warn("\(record.location): \(problem) (skipped)")
                reporter.update { $0.skipped += 1 }
            case .null:
                reporter.warn("\(record.location): \(problem) (written as null)")
                reporter.update { $0.nulls += 1 }
                rows.append(nullRow(for: record))
            }
        }
        return (rows, nil)
    }

    /// A record without a vector under `--on-error null`. A record whose
    /// bytes are not a JSON object is replaced by `{}` so the output stays
    /// valid JSON Lines, one line per input record.
    private func nullRow(for record: Record) -> OutputRow {
        let text = mode == .lines || record.textOffset != nil ? try? record.content.get().text : nil
        switch record.object {
        case .notExtensible where mode == .jsonl:
            return OutputRow(bytes: Array("{}".utf8), isEmptyObject: true, text: text, vector: nil)
        case let shape:
            return OutputRow(
                bytes: record.bytes, isEmptyObject: shape == .empty, text: text, vector: nil,
                textOffset: record.textOffset)
        }
    }
}
