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
    /// The stages overlap, each on its own thread, joined by short queues:
    /// reading and decoding the next windows (WindowReader), looking
    /// windows up and sending their misses (LookupStage, on this thread),
    /// the provider's requests (RequestPool), commits (CommitStage) and
    /// writing (OutputStage). CommitQueue holds the vectors computed and
    /// not yet committed.
    public func run(inputs: [String], maxLineBytes: Int) throws {
        if provider != nil { try store.expectCommits(of: settings.windowSize) }
        // Reading ahead stays at the slots' priority: the windows it
        // decodes are what feeds them.
        let reader = WindowReader(
            inputs: inputs, maxLineBytes: maxLineBytes, decoder: decoder, size: settings.windowSize,
            bytes: settings.windowBytes, shard: settings.shard)
        // Commits and writes run on threads of their own: the vectors as
        // their batches are answered, and each window's rows, in window
        // order, once every vector they show is committed, while this
        // thread looks up and sends the next windows.
        let commits = CommitQueue(capacity: settings.commitQueue)
        let output = OutputStage(writer: writer)
        let committer = CommitStage(store: store, queue: commits, output: output)
        let pool = provider.map {
            RequestPool(
                provider: $0, limits: settings.limits, width: settings.maxRequests, dimension: self.store.dimension,
                reporter: reporter, onDelivery: { commits.add($0) })
        }
        let lookup = LookupStage(
            store: store, commits: commits, pool: pool, mode: decoder.mode, onError: settings.onError,
            reporter: reporter)
        /// Hands a window's rows on, then ends the run at the record that
        /// ended it.
        let finish = { (window: LookupStage.Window) throws in
            let (rows, end) = try lookup.finish(window)
            if !rows.isEmpty { commits.addRows(rows) }
            if let end { throw end }
        }

        // Windows are looked up and sent ahead of the one being finished,
        // so the provider's request slots never wait for a window boundary:
        // one window is always ahead, more while fewer batches wait for a
        // slot than two rounds of requests take (`windowsAhead` in all at
        // most, which bounds the memory). Commits and output keep input
        // order.
        var failure: Error?
        var begun: [LookupStage.Window] = []
        var ended = false
        do {
            while true {
                while !ended, let next = nextWindow(reader, begun: begun.count, pool: pool) {
                    do {
                        if let error = output.failure ?? committer.failure { throw error }
                        let (records, end) = try next.get()
                        begun.append(try lookup.begin(records, inputEnd: end))
                    } catch {
                        // What was sent before the failure is committed and written.
                        let sent = begun
                        begun = []
                        try Self.finish(sent, with: finish, abandon: lookup.abandon)
                        throw error
                    }
                    // A bad record stops the run where it stands: nothing after it is sent.
                    if begun.last?.stop != nil { ended = true }
                }
                guard !begun.isEmpty else { break }
                let oldest = begun.removeFirst()
                do {
                    try finish(oldest)
                } catch {
                    let rest = begun
                    begun = []
                    for window in rest { lookup.abandon(window) }
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

    /// Finishes windows in order; after one fails, the rest are abandoned.
    private static func finish(
        _ windows: [LookupStage.Window], with finish: (LookupStage.Window) throws -> Void,
        abandon: (LookupStage.Window) -> Void
    ) throws {
        for (index, window) in windows.enumerated() {
            do {
                try finish(window)
            } catch {
                for rest in windows[(index + 1)...] { abandon(rest) }
                throw error
            }
        }
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
}
