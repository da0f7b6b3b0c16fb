import EmbCacheCore
import EmbCacheProviders
import EmbCacheStore
import Foundation
import Synchronization

/// What happens to a record that cannot get a vector (`--on-error`).
public enum ErrorPolicy: String, Sendable, CaseIterable {
    /// Stop: commit what was computed, report the record, exit 65.
    case fail
    /// Leave the record out of the output and go on.
    case skip
    /// Write the record with a null vector (a NaN row in f32 and npy).
    case null
}

public struct PipelineSettings: Sendable {
    /// Records read, looked up and written together (their vectors are
    /// committed as the batches are answered, see CommitQueue).
    public var windowSize: Int
    /// The most bytes of input lines one window holds; a longer line makes
    /// a window of its own. Several windows are in flight at once (see
    /// `run`), so this, not the record count, bounds the memory of long
    /// records.
    public var windowBytes: Int
    /// The most texts and bytes one provider request carries.
    public var limits: BatchLimits
    /// Provider requests in flight at once.
    public var maxRequests: Int
    public var onError: ErrorPolicy
    /// Windows that may wait for their commit.
    public var commitQueue: Int
    /// Only the records whose key falls in this part are looked up,
    /// computed and written (`--shard`); a record without a usable text
    /// has no key and stays in every part, so each follows `--on-error`
    /// as a run of the whole input would.
    public var shard: Shard?
    /// Windows looked up and sent at most at once: more than two only
    /// while the request slots are short of work (a remote provider whose
    /// requests outlast a window's lookup, commit and writes).
    public var windowsAhead = 2

    public init(
        windowSize: Int, windowBytes: Int = PipelineSettings.defaultWindowBytes, limits: BatchLimits, maxRequests: Int,
        onError: ErrorPolicy, commitQueue: Int = 1
    ) {
        self.windowSize = windowSize
        self.windowBytes = windowBytes
        self.limits = limits
        self.maxRequests = maxRequests
        self.onError = onError
        self.commitQueue = commitQueue
    }

    /// Up to ten windows are in flight with a local provider, sixteen
    /// with a remote one: one being read, two decoded, the one being looked
    /// up and the one waiting for its requests (and up to two more sent
    /// ahead with a remote one), up to three waiting for their commit and
    /// as many being committed, two encoded and one being written. Each line
    /// is held about twice (its bytes and its text), so 8 MiB a window keeps
    /// the records in flight within about 230 MB.
    public static let defaultWindowBytes = 8 << 20
}

/// The filter: reads records in windows, answers each window from the
/// store, computes the distinct misses in batches, commits them as the
/// batches are answered, and writes the window in input order. Memory is bounded by
/// the window (its records and its bytes), never by the input.
public final class Pipeline {
    private let store: VectorStore
    private let provider: EmbeddingProvider?
    private let decoder: RecordDecoder
    private let writer: RecordWriter
    private let settings: PipelineSettings
    private let reporter: Reporter
    /// Vectors computed and not yet committed, and the windows waiting for
    /// them.
    private let commits: CommitQueue

    public init(
        store: VectorStore, provider: EmbeddingProvider?, decoder: RecordDecoder, writer: RecordWriter,
        settings: PipelineSettings, reporter: Reporter
    ) {
        self.store = store
        self.provider = provider
        self.decoder = decoder
        self.writer = writer
        self.settings = settings
        self.reporter = reporter
        commits = CommitQueue(capacity: settings.commitQueue)
    }

    /// Runs over the inputs in order (`-` is stdin) and finishes the
    /// output. Throws the first error that stops the run, after committing
    /// every vector computed before it and writing every record before it.
    ///
    /// The stages overlap, each on its own thread, joined by short queues:
    /// reading and decoding the next windows, looking windows up and
    /// sending their misses (this thread), the provider's requests
    /// (RequestPool), commits (CommitStage) and writing (OutputStage).
    public func run(inputs: [String], maxLineBytes: Int) throws {
        if provider != nil { try store.expectCommits(of: settings.windowSize) }
        // Reading ahead stays at the slots' priority: the windows it
        // decodes are what feeds them.
        let reader = WindowReader(
            inputs: inputs, maxLineBytes: maxLineBytes, decoder: decoder, size: settings.windowSize,
            bytes: settings.windowBytes, shard: settings.shard)
        // Commits and writes run on threads of their own: the vectors as
        // their batches are answered, and each window's rows, in window
        // order, once every vector they show is committed, while the main
        // stage looks up and sends the next windows.
        let output = OutputStage(writer: writer)
        let commits = self.commits
        let committer = CommitStage(store: store, queue: commits, output: output)
        let commit: ([OutputRow]) -> Void = { rows in
            if !rows.isEmpty { commits.addRows(rows) }
        }

        // Windows are looked up and sent ahead of the one being finished,
        // so the provider's request slots never wait for a window boundary:
        // one window is always ahead, more while fewer batches wait for a
        // slot than two rounds of requests take (`windowsAhead` in all at
        // most, which bounds the memory). Commits and output keep input
        // order.
        let pool = provider.map {
            RequestPool(
                provider: $0, limits: settings.limits, width: settings.maxRequests, dimension: self.store.dimension,
                reporter: reporter, onDelivery: { commits.add($0) })
        }
        var failure: Error?
        var begun: [Window] = []
        var ended = false
        do {
            while true {
                while !ended, let next = nextWindow(reader, begun: begun.count, pool: pool) {
                    do {
                        if let error = output.failure ?? committer.failure { throw error }
                        let (records, end) = try next.get()
                        var window = try begin(records, pool: pool)
                        window.inputEnd = end
                        begun.append(window)
                    } catch {
                        // What was sent before the failure is committed and written.
                        let sent = begun
                        begun = []
                        try finish(sent, pool: pool, commit: commit)
                        throw error
                    }
                    // A bad record stops the run where it stands: nothing after it is sent.
                    if begun.last?.stop != nil { ended = true }
                }
                guard !begun.isEmpty else { break }
                let oldest = begun.removeFirst()
                do {
                    try finish(oldest, commit: commit)
                } catch {
                    let rest = begun
                    begun = []
                    for window in rest { abandon(window, pool: pool) }
                    throw error
                }
                if begun.isEmpty && ended { break }
            }
        } catch {
            failure = error
        }
        pool?.stop()
        pool?.close()
        reader.stop()
        committer.finish()
        output.finish()
        if let failure = committer.failure ?? failure ?? output.failure { throw failure }
        reader.wait()
        try self.writer.finish(dimension: self.store.dimension)
    }

    /// The next decoded window to begin. While fewer than two are begun
    /// (one finishing, one ahead) it is waited for; beyond that only one
    /// already decoded is taken, and only while the request slots are short
    /// of work: an input that arrives slowly is answered window by window,
    /// never held back for windows still to come.
    private func nextWindow(_ reader: WindowReader, begun: Int, pool: RequestPool?) -> WindowReader.Window? {
        if begun < 2 { return reader.next() }
        guard begun < settings.windowsAhead, pool?.isShortOfWork == true else { return nil }
        return reader.nextIfDecoded()
    }

    /// Finishes windows in order; after one fails, the rest are abandoned.
    private func finish(_ windows: [Window], pool: RequestPool?, commit: ([OutputRow]) -> Void) throws {
        for (index, window) in windows.enumerated() {
            do {
                try finish(window, commit: commit)
            } catch {
                for rest in windows[(index + 1)...] { abandon(rest, pool: pool) }
                throw error
            }
        }
    }

    /// A window looked up, its misses sent, waiting to be committed and
    /// written.
    private struct Window {
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

    /// Looks a window up in the store and sends its misses.
    private func begin(_ decoded: [Record], pool: RequestPool?) throws -> Window {
        try Interrupt.check()
        var records = decoded
        reporter.update { $0.records += records.count }

        // A bad record stops a failing run where it stands: nothing after
        // it is computed, everything before it is.
        var stop: EmbCacheError?
        if settings.onError == .fail,
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
            stop: stop)
    }

    /// Waits for a window's requests (whose vectors the commit stage has
    /// as each batch is answered, even when one failed) and hands the
    /// window's rows to `commit`, which writes them once the vectors are
    /// committed; a failing record ends the window there.
    private func finish(_ window: Window, commit: ([OutputRow]) -> Void) throws {
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
        commit(rows)
        if let error = missing ?? window.stop { throw error }
    }

    /// A window sent before the run failed: its requests in flight finish
    /// (and are committed, as every answer is), nothing of it is written.
    private func abandon(_ window: Window, pool: RequestPool?) {
        pool?.stop()
        _ = window.requests?.wait()
    }

    /// Splits texts, in order, into batches under both limits; a text over
    /// the byte limit goes alone.
    package static func batches(_ texts: [String], limits: BatchLimits) -> [[Int]] {
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
        let keepsText = decoder.mode == .lines
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
            switch settings.onError {
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
        let text = decoder.mode == .lines || record.textOffset != nil ? try? record.content.get().text : nil
        switch record.object {
        case .notExtensible where decoder.mode == .jsonl:
            return OutputRow(bytes: Array("{}".utf8), isEmptyObject: true, text: text, vector: nil)
        case let shape:
            return OutputRow(
                bytes: record.bytes, isEmptyObject: shape == .empty, text: text, vector: nil,
                textOffset: record.textOffset)
        }
    }
}
