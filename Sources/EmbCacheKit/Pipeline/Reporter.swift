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
    }

    private let verbosity: Verbosity
    private let showProgress: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())
    private let providerStatistics: @Sendable () -> ProviderStatistics?

    public init(
        verbosity: Verbosity, showProgress: Bool,
        providerStatistics: @escaping @Sendable () -> ProviderStatistics? = { nil }
    ) {
        self.verbosity = verbosity
        self.showProgress = showProgress && verbosity != .quiet
        self.providerStatistics = providerStatistics
    }

    public var summary: RunSummary {
        var summary = state.withLock { $0.summary }
        summary.provider = providerStatistics()
        return summary
    }

    public func update(_ change: (inout RunSummary) -> Void) {
        state.withLock { state in
            change(&state.summary)
            guard showProgress else { return }
            let now = ContinuousClock.now
            guard now - state.lastDraw >= .milliseconds(100) else { return }
            state.lastDraw = now
            state.drawn = true
            Self.writeStderr("\r\u{1B}[K" + progressLine(state.summary, elapsed: now - started))
        }
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

    private func progressLine(_ s: RunSummary, elapsed: Duration) -> String {
        let seconds = max(elapsed.seconds, 0.001)
        return "embcache: \(s.records) records, \(s.hits) hits, \(s.computed) computed, "
            + String(format: "%.0f records/s", Double(s.records) / seconds)
    }

    public static func writeStderr(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            try? FileDescriptorIO.writeAll(STDERR_FILENO, UnsafeRawBufferPointer(bytes))
        }
    }
}
