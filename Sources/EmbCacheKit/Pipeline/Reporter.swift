import EmbCacheCore
import EmbCacheProviders
import Foundation
import Synchronization

/// What a run did, for `-v` and for tests.
public struct RunSummary: Sendable, Equatable {
    /// Records read (blank lines are not records).
    public var records = 0
    /// Records answered from the cache.
    public var hits = 0
    /// Records whose vector was computed in this run.
    public var computed = 0
    /// Distinct texts sent to the provider.
    public var uniqueComputed = 0
    /// Provider requests made.
    public var batches = 0
    /// Records left out (`--on-error skip`) or written as null.
    public var skipped = 0
    public var nulls = 0
    /// Bytes of input handled: read up to the end of the last window
    /// finished.
    public var inputBytes = 0
    /// What an HTTP provider did: requests sent (retries included), retries,
    /// and time spent waiting for rate limits.
    public var provider: ProviderStatistics?

    public init() {}
}

/// Everything that goes to stderr besides the final error: warnings about
/// single records, the live progress line on a terminal, the summary.
public final class Reporter: Sendable {
    public enum Verbosity: Int, Sendable {
        case quiet, normal, verbose
    }

    private struct State {
        var summary = RunSummary()
        var lastDraw = ContinuousClock.now
        var drawn = false
        var finished = false
        /// Provider requests waiting to go out, until when and why.
        var waits: [ProviderWait] = []
    }

    private let verbosity: Verbosity
    private let showProgress: Bool
    /// Bytes of the whole input when every input is a regular file: the
    /// progress line then gives a percentage and the time left.
    private let inputSize: Int?
    private let started = ContinuousClock.now
    private let state = Mutex(State())
    private let providerStatistics: @Sendable () -> ProviderStatistics?

    public init(
        verbosity: Verbosity, showProgress: Bool, inputSize: Int? = nil,
        providerStatistics: @escaping @Sendable () -> ProviderStatistics? = { nil }
    ) {
        self.verbosity = verbosity
        self.showProgress = showProgress && verbosity != .quiet
        self.inputSize = inputSize.flatMap { $0 > 0 ? $0 : nil }
        self.providerStatistics = providerStatistics
        if self.showProgress { startTicking() }
    }

    /// Redraws the line twice a second when nothing else does, so a run
    /// that waits for a provider, or for a retry, does not look stuck.
    /// Ends with `finish`.
    private func startTicking() {
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.25)
                let going = state.withLock { state in
                    guard !state.finished else { return false }
                    draw(&state, every: .milliseconds(500))
                    return true
                }
                guard going else { return }
            }
        }
    }

    public var summary: RunSummary {
        var summary = state.withLock { $0.summary }
        summary.provider = providerStatistics()
        return summary
    }

    public func update(_ change: (inout RunSummary) -> Void) {
        state.withLock { state in
            change(&state.summary)
            draw(&state, every: .milliseconds(100))
        }
    }

    /// A provider request waits before it goes out: the progress line says
    /// so until it ends.
    public func waiting(_ wait: ProviderWait) {
        guard showProgress else { return }
        state.withLock { state in
            state.waits.append(wait)
            draw(&state, every: .milliseconds(100))
        }
    }

    /// The one place the line is drawn: at most once per `interval`.
    private func draw(_ state: inout State, every interval: Duration) {
        guard showProgress, !state.finished else { return }
        let now = ContinuousClock.now
        guard now - state.lastDraw >= interval else { return }
        state.lastDraw = now
        state.drawn = true
        state.waits.removeAll { $0.until <= now }
        Self.writeStderr(
            "\r\u{1B}[K" + progressLine(state.summary, elapsed: now - started, waits: state.waits, now: now))
    }

    /// A problem with one record that the run goes on after.
    public func warn(_ message: String) {
        guard verbosity != .quiet else { return }
        state.withLock { state in
            Self.writeStderr((state.drawn ? "\r\u{1B}[K" : "") + "embcache: warning: \(message)\n")
        }
    }

    /// Erases the progress line and, with `-v`, prints the summary.
    public func finish() {
        state.withLock { state in
            if state.drawn { Self.writeStderr("\r\u{1B}[K") }
            state.drawn = false
            state.finished = true
            guard verbosity == .verbose else { return }
            var s = state.summary
            s.provider = providerStatistics()
            let seconds = (ContinuousClock.now - started).seconds
            Self.writeStderr(
                "embcache: \(counted(s.records, "record")), \(counted(s.hits, "hit")), \(s.computed) computed "
                    + "(\(counted(s.uniqueComputed, "unique text"))), \(counted(s.batches, "batch", plural: "batches")), "
                    + "\(s.skipped) skipped, \(s.nulls) null, "
                    + (s.provider.map {
                        "\(counted($0.requests, "request")), \(counted($0.retries, "retry", plural: "retries")), "
                            + String(format: "%.2f s waited for rate limits, ", $0.rateLimitWait.seconds)
                    } ?? "")
                    + String(format: "%.2f s", seconds) + "\n")
        }
    }

    private func progressLine(_ s: RunSummary, elapsed: Duration, waits: [ProviderWait], now: ContinuousClock.Instant)
        -> String
    {
        let seconds = max(elapsed.seconds, 0.001)
        var line = "embcache: "
        if let inputSize {
            let done = min(s.inputBytes, inputSize)
            line += "\(done * 100 / inputSize)%, "
        }
        line += "\(s.records) records, \(s.hits) hits, \(s.computed) computed, "
        line += String(format: "%.0f records/s", Double(s.records) / seconds)
        // The time left at the pace so far, once there is a pace.
        if let inputSize, s.inputBytes > 0, s.inputBytes < inputSize {
            let left = seconds * Double(inputSize - s.inputBytes) / Double(s.inputBytes)
            line += ", ETA " + clock(left)
        }
        // The wait that ends first: when the run goes on.
        if let wait = waits.min(by: { $0.until < $1.until }) {
            let left = Int((wait.until - now).seconds.rounded(.up))
            let waiting =
                switch wait.reason {
                case .paced: "waiting \(left)s (rate limited by --rpm/--tpm)"
                case .retry(let rateLimited): "retrying in \(left)s" + (rateLimited ? " (rate limited)" : "")
                }
            line += ", " + waiting
        }
        return line
    }

    /// `42s`, `3m05s`, `2h07m`.
    private func clock(_ seconds: Double) -> String {
        let whole = Int(min(seconds, 360_000).rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    public static func writeStderr(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            try? FileDescriptorIO.writeAll(STDERR_FILENO, UnsafeRawBufferPointer(bytes))
        }
    }
}
