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
    /// Records read, looked up and committed together.
    public var windowSize: Int
    /// The most texts and bytes one provider request carries.
    public var limits: BatchLimits
    /// Provider requests in flight at once.
    public var maxRequests: Int
    public var onError: ErrorPolicy

    public init(windowSize: Int, limits: BatchLimits, maxRequests: Int, onError: ErrorPolicy) {
        self.windowSize = windowSize
        self.limits = limits
        self.maxRequests = maxRequests
        self.onError = onError
    }
}

/// The filter: reads records in windows, answers each window from the
/// store, computes the distinct misses in batches, commits them in one
/// transaction, and writes the window in input order. Memory is bounded by
/// the window, never by the input.
public final class Pipeline {
    private let store: VectorStore
    private let provider: EmbeddingProvider?
    private let decoder: RecordDecoder
    private let writer: RecordWriter
    private let settings: PipelineSettings
    private let reporter: Reporter
    private let tally = RejectionTally()

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
    }

    /// Runs over the inputs in order (`-` is stdin) and finishes the
    /// output. Throws the first error that stops the run, after committing
    /// every vector computed before it and writing every record before it.
    ///
    /// Three stages overlap, each on its own thread, joined by short
    /// queues: reading and decoding the next window, answering this one
    /// from the store and the provider, writing the previous one.
    public func run(inputs: [String], maxLineBytes: Int) throws {
        let decoded = BoundedQueue<Result<[Record], Error>>(capacity: 2)
        let encoded = BoundedQueue<[OutputRow]>(capacity: 2)
        let reading = DispatchGroup()
        let writing = DispatchGroup()
        let writeFailure = Mutex<Error?>(nil)

        let decoder = self.decoder
        let windowSize = settings.windowSize
        reading.enter()
        Thread.detachNewThread {
            do {
                try Self.readWindows(inputs, maxLineBytes: maxLineBytes, decoder: decoder, size: windowSize) {
                    decoded.push(.success(Self.decode($0, with: decoder)))
                }
            } catch {
                decoded.push(.failure(error))
            }
            decoded.close()
            reading.leave()
        }
        let writer = UnsafeSendable(self.writer)
        writing.enter()
        Thread.detachNewThread {
            while let rows = encoded.pop() {
                do {
                    try writer.value.write(rows)
                } catch {
                    writeFailure.withLock { $0 = error }
                    // Stop taking rows: the main stage sees the failure.
                    encoded.close()
                }
            }
            writing.leave()
        }

        var failure: Error?
        do {
            while let window = decoded.pop() {
                if let error = writeFailure.withLock({ $0 }) { throw error }
                try process(try window.get()) { encoded.push($0) }
            }
        } catch {
            failure = error
        }
        decoded.close()
        encoded.close()
        writing.wait()
        if let failure = failure ?? writeFailure.withLock({ $0 }) {
            throw failure
        }
        reading.wait()
        try self.writer.finish(dimension: store.dimension)
    }

    /// Reads non-blank lines from each input in turn and hands them on in
    /// windows; stops early when `deliver` returns false.
    private static func readWindows(
        _ inputs: [String], maxLineBytes: Int, decoder: RecordDecoder, size: Int, deliver: ([Line]) -> Bool
    ) throws {
        var window: [Line] = []
        window.reserveCapacity(size)
        do {
            for input in inputs {
                let reader = try LineReader.open(path: input, maxLineBytes: maxLineBytes)
                while let line = try reader.next() {
                    if decoder.isBlank(line) { continue }
                    window.append(line)
                    if window.count == size {
                        guard deliver(window) else { return }
                        window.removeAll(keepingCapacity: true)
                    }
                }
            }
        } catch {
            // What was read before the failure is still processed, as cat
            // writes the files before the one it can't open.
            if !window.isEmpty { _ = deliver(window) }
            throw error
        }
        if !window.isEmpty { _ = deliver(window) }
    }

    /// Answers one window and hands its rows to `emit`; a failing record
    /// ends the window there.
    private func process(_ decoded: [Record], emit: ([OutputRow]) -> Void) throws {
        try Interrupt.check()
        var records = decoded
        reporter.update { $0.records += records.count }

        // A bad record stops a failing run where it stands: nothing after
        // it is computed, everything before it is.
        // A record that has the output field already is a conflict of
        // flags, not of one record: it stops the run under every policy.
        var stop: EmbCacheError?
        if let bad = records.firstIndex(where: { record in
            guard case .failure(let problem) = record.content else { return false }
            return settings.onError == .fail || problem == .fieldAlreadyPresent(decoder.outputField ?? "")
        }),
            case .failure(let problem) = records[bad].content
        {
            stop = .input(records[bad].location, problem)
            records.removeSubrange(bad...)
        }

        let (vectors, rejections) = try resolve(records)
        let (rows, missing) = rows(for: records, vectors, rejections)
        emit(rows)
        if let error = missing ?? stop { throw error }
    }

    private static func decode(_ lines: [Line], with decoder: RecordDecoder) -> [Record] {
        lines.concurrentMap { decoder.decode($0) }
    }

    /// The vector of every distinct key in the window: from the store, or
    /// computed and committed.
    private func resolve(_ records: [Record]) throws -> (
        vectors: [CacheKey: [Float]], rejections: [CacheKey: InputProblem]
    ) {
        var texts: [CacheKey: String] = [:]
        var order: [CacheKey] = []
        var locations: [CacheKey: SourceLocation] = [:]
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
        for (key, found) in zip(order, try store.lookup(order)) {
            switch found {
            case .hit(let vector):
                vectors[key] = vector
            case .miss:
                misses.append(StoreEntry(key: key, text: texts[key]!, vector: []))
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
        guard !misses.isEmpty, let provider else { return (vectors, [:]) }

        let outcome = compute(misses, from: misses.map { locations[$0.key]! }, with: provider)
        let computed = outcome.entries
        try store.insert(computed)
        for entry in computed { vectors[entry.key] = entry.vector }
        var rejections: [CacheKey: InputProblem] = [:]
        for (position, problem) in outcome.rejections { rejections[misses[position].key] = problem }
        var computedCount = 0
        let computedKeys = Set(computed.map(\.key))
        for record in records {
            if case .success(let content) = record.content, computedKeys.contains(content.key) { computedCount += 1 }
        }
        reporter.update {
            $0.computed += computedCount
            $0.uniqueComputed += computed.count
        }
        if let failure = outcome.failure { throw failure }
        return (vectors, rejections)
    }

    /// What computing a window's misses gave: the vectors of every batch
    /// that succeeded, the texts the provider refused one by one (by their
    /// place among the misses), and the first failure if any: what was
    /// computed is kept even when the run cannot go on.
    private struct Computed {
        var entries: [StoreEntry] = []
        var rejections: [Int: InputProblem] = [:]
        var failure: Error?
    }

    /// Sends the misses in batches, up to `maxRequests` at once. A batch
    /// the provider refuses for its content is split in two, and again,
    /// until the text it refuses stands alone: that record follows
    /// `--on-error`, every other text is embedded.
    private func compute(_ misses: [StoreEntry], from locations: [SourceLocation], with provider: EmbeddingProvider)
        -> Computed
    {
        let batches = Self.batches(misses.map(\.text), limits: settings.limits)
        let next = Atomic<Int>(0)
        let results = Mutex<[(positions: ArraySlice<Int>, vectors: [[Float]])]>([])
        let rejections = Mutex<[Int: InputProblem]>([:])
        let failure = Mutex<Error?>(nil)
        let reporter = self.reporter
        let tally = self.tally
        // Every batch is held to one dimension as it arrives, so a batch that
        // disagrees fails alone and the good ones are still committed.
        let dimension = Mutex<Int?>(store.dimension)

        /// "batch of 256 texts from stdin:1025", for messages.
        @Sendable func batchName(_ positions: ArraySlice<Int>) -> String {
            "batch of \(positions.count) text\(positions.count == 1 ? "" : "s") from \(locations[positions.first!])"
        }

        @Sendable func embed(_ positions: ArraySlice<Int>) throws {
            try Interrupt.check()
            let vectors: [[Float]]
            do {
                vectors = try provider.embedChecked(positions.map { misses[$0].text }, dimension: dimension.withLock { $0 })
            } catch let rejection as ProviderRejection {
                guard positions.count > 1 else {
                    try tally.reject(provider: provider.name, rejection)
                    rejections.withLock {
                        $0[positions.first!] = .rejected(provider: provider.name, message: rejection.message)
                    }
                    return
                }
                let middle = positions.startIndex + positions.count / 2
                try embed(positions[..<middle])
                try embed(positions[middle...])
                return
            } catch EmbCacheError.provider(let name, let message) {
                throw EmbCacheError.provider(name: name, message: "\(batchName(positions)): \(message)")
            }
            try dimension.withLock { known in
                guard let first = vectors.first?.count, let expected = known ?? Optional(first), first == expected
                else {
                    throw EmbCacheError.provider(
                        name: provider.name,
                        message:
                            "\(batchName(positions)): \(vectors.first?.count ?? 0)-dimensional vectors after \(known ?? 0)-dimensional ones"
                    )
                }
                known = expected
            }
            tally.accept(positions.count)
            results.withLock { $0.append((positions, vectors)) }
            reporter.update { $0.batches += 1 }
        }

        let worker: @Sendable () -> Void = {
            while failure.withLock({ $0 == nil }) && !Interrupt.isRequested {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < batches.count else { return }
                do {
                    try embed(batches[index][...])
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                }
            }
        }
        let width = min(settings.maxRequests, batches.count)
        if width <= 1 {
            worker()
        } else {
            let group = DispatchGroup()
            for _ in 0..<width {
                group.enter()
                Thread.detachNewThread {
                    worker()
                    group.leave()
                }
            }
            group.wait()
        }
        var computed = Computed()
        for (positions, vectors) in results.withLock({ $0 }) {
            for (position, vector) in zip(positions, vectors) {
                var entry = misses[position]
                entry.vector = vector
                computed.entries.append(entry)
            }
        }
        computed.rejections = rejections.withLock { $0 }
        computed.failure = failure.withLock { $0 } ?? (Interrupt.isRequested ? EmbCacheError.interrupted : nil)
        return computed
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

    /// The output rows of a window, in order. Under `--on-error fail` the
    /// rows stop before the first record without a vector, which is
    /// returned as the error.
    private func rows(
        for records: [Record], _ vectors: [CacheKey: [Float]], _ rejections: [CacheKey: InputProblem]
    ) -> ([OutputRow], EmbCacheError?) {
        var rows: [OutputRow] = []
        rows.reserveCapacity(records.count)
        for record in records {
            var problem: InputProblem
            switch record.content {
            case .success(let content):
                if let vector = vectors[content.key] {
                    rows.append(
                        OutputRow(
                            bytes: record.bytes, isEmptyObject: record.object == .empty, text: content.text,
                            vector: vector))
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
        let text = try? record.content.get().text
        switch record.object {
        case .notExtensible where decoder.mode == .jsonl:
            return OutputRow(bytes: Array("{}".utf8), isEmptyObject: true, text: text, vector: nil)
        case let shape:
            return OutputRow(bytes: record.bytes, isEmptyObject: shape == .empty, text: text, vector: nil)
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
