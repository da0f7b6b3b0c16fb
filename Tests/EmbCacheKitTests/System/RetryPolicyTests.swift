import Synchronization
import Testing

@testable import EmbCacheBackup
@testable import EmbCacheCore
@testable import EmbCacheStore

/// A clock whose time passes only when something sleeps on it, and that
/// keeps every sleep.
private final class FakeClock: Sendable {
    private let state = Mutex<(now: Duration, sleeps: [Duration])>((.zero, []))

    var now: Duration { state.withLock { $0.now } }
    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    var clock: RetryClock {
        RetryClock(
            now: { self.now },
            sleep: { duration in
                self.state.withLock {
                    $0.now += duration
                    $0.sleeps.append(duration)
                }
            })
    }
}

/// Hands out the fractions given, in turn, the last one from then on.
private final class Fractions: Sendable {
    private let state: Mutex<(values: [Double], next: Int)>

    init(_ values: Double...) { state = Mutex((values, 0)) }

    func next() -> Double {
        state.withLock { state in
            state.next += 1
            return state.values[min(state.next, state.values.count) - 1]
        }
    }
}

private struct Busy: Error {}
private struct Broken: Error {}

private func isInterrupted(_ error: (any Error)?) -> Bool {
    if case EmbCacheError.interrupted? = error as? EmbCacheError { return true }
    return false
}

@Suite struct RetryPolicyTests {
    private func make(
        attempts: Int? = 10, base: Duration = .seconds(1), cap: Duration = .seconds(30), budget: Duration? = nil,
        shortensLastWait: Bool = false, longestRequest: Duration? = nil, clock: FakeClock = FakeClock(),
        random: Fractions = Fractions(1), interrupted: @escaping @Sendable () -> Bool = { false }
    ) -> RetryPolicy {
        RetryPolicy(
            attempts: attempts, base: base, cap: cap, budget: budget, shortensLastWait: shortensLastWait,
            longestRequest: longestRequest, clock: clock.clock, random: { random.next() }, interrupted: interrupted)
    }

    @Test func theCeilingDoublesFromTheBaseUpToTheCap() {
        let policy = make(base: .milliseconds(500), cap: .seconds(30))
        let ceilings = (1...9).map { policy.ceiling(retry: $0) }
        #expect(
            ceilings == [
                .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30),
                .seconds(30), .seconds(30),
            ])
        // Far past any shift that fits in an integer.
        #expect(policy.ceiling(retry: 10_000) == .seconds(30))
    }

    @Test func fullJitterDrawsFromZeroToTheCeiling() {
        // The random source's ends give the jitter's ends, and a fraction
        // between gives the same fraction of the ceiling.
        var low = make(base: .seconds(2), random: Fractions(0)).start()
        var high = make(base: .seconds(2), random: Fractions(1)).start()
        var quarter = make(base: .seconds(2), random: Fractions(0.25)).start()
        for retry in 1...4 {
            let ceiling = Duration.seconds(2) * (1 << (retry - 1))
            #expect(low.failed() == .wait(.zero))
            #expect(high.failed() == .wait(ceiling))
            #expect(quarter.failed() == .wait(ceiling / 4))
        }
        // The system's random source stays within the bounds.
        var system = RetryPolicy(attempts: 200, base: .milliseconds(100), cap: .seconds(1)).start()
        var draws: [Duration] = []
        for retry in 1..<200 {
            guard case .wait(let pause) = system.failed() else {
                Issue.record("retry \(retry) was refused")
                return
            }
            #expect(pause >= .zero && pause <= system.policy.ceiling(retry: retry))
            draws.append(pause)
        }
        #expect(Set(draws).count > 100, "the jitter does not vary")
    }

    @Test func attemptsAreCountedFromTheFirst() {
        var retries = make(attempts: 3).start()
        #expect(retries.nextAttempt == 1)
        #expect(retries.failed() == .wait(.seconds(1)))
        #expect(retries.nextAttempt == 2)
        #expect(retries.failed() == .wait(.seconds(2)))
        #expect(retries.nextAttempt == 3)
        #expect(retries.failed() == .noAttemptsLeft)
        #expect(retries.failures == 3)
        #expect(retries.waited == .seconds(3))

        var once = make(attempts: 1).start()
        #expect(once.failed() == .noAttemptsLeft)
    }

    @Test func aWaitThatWouldPassTheBudgetEndsTheRetries() {
        // HTTP's --max-retry-wait: the wait is not made at all.
        var retries = make(base: .seconds(1), cap: .seconds(1), budget: .milliseconds(1500)).start()
        #expect(retries.failed() == .wait(.seconds(1)))
        #expect(retries.failed() == .overBudget(.seconds(1)))
        #expect(retries.waited == .seconds(1))
    }

    @Test func aShortenedLastWaitSpendsTheWholeBudget() {
        // A database waited for up to a time: the last wait is cut to fit,
        // then the retries end.
        var retries = make(
            attempts: nil, base: .milliseconds(400), cap: .seconds(2), budget: .seconds(1), shortensLastWait: true
        ).start()
        #expect(retries.failed() == .wait(.milliseconds(400)))
        #expect(retries.failed() == .wait(.milliseconds(600)))
        #expect(retries.waited == .seconds(1))
        #expect(retries.failed() == .overBudget(.milliseconds(1600)))

        // A budget of 0 is no retry at all.
        var none = make(attempts: nil, budget: .zero, shortensLastWait: true).start()
        #expect(none.failed() == .overBudget(.seconds(1)))
    }

    @Test func aWaitAskedForReplacesTheBackoff() {
        var retries = make(base: .seconds(1), longestRequest: .seconds(120), random: Fractions(0.5)).start()
        #expect(retries.failed(requested: .seconds(7)) == .wait(.seconds(7)))
        #expect(retries.failed(requested: .zero) == .wait(.zero))
        #expect(retries.failed() == .wait(.seconds(2)))
        #expect(retries.waited == .seconds(9))
        // Longer than is worth waiting: over, whatever is left.
        #expect(retries.failed(requested: .seconds(121)) == .requestTooLong(.seconds(121)))
        var last = make(attempts: 1, longestRequest: .seconds(120)).start()
        #expect(last.failed(requested: .seconds(3600)) == .requestTooLong(.seconds(3600)))
    }

    @Test func aWaitAskedForIsNeverCutToTheBudget() {
        // The server would refuse an attempt that came early.
        var retries = make(budget: .seconds(5), shortensLastWait: true).start()
        #expect(retries.failed(requested: .seconds(3)) == .wait(.seconds(3)))
        #expect(retries.failed(requested: .seconds(3)) == .overBudget(.seconds(3)))
    }

    @Test func theSleepPassesInShortSlices() throws {
        let clock = FakeClock()
        try make(clock: clock).sleep(.milliseconds(120))
        #expect(clock.now == .milliseconds(120))
        #expect(clock.sleeps == [.milliseconds(50), .milliseconds(50), .milliseconds(20)])
    }

    @Test func anInterruptEndsTheSleepAtOnce() {
        let clock = FakeClock()
        // The signal comes 0.13 s into a minute's wait.
        let policy = make(clock: clock, interrupted: { clock.now >= .milliseconds(130) })
        let error = #expect(throws: EmbCacheError.self) { try policy.sleep(.seconds(60)) }
        #expect(isInterrupted(error))
        #expect(clock.now == .milliseconds(150), "slept past the signal's slice")

        // One that came before the wait: no sleep at all.
        let before = FakeClock()
        let interrupted = make(clock: before, interrupted: { true })
        #expect(isInterrupted(#expect(throws: EmbCacheError.self) { try interrupted.sleep(.seconds(1)) }))
        #expect(before.sleeps.isEmpty)
    }

    @Test func aRunThatStopsEndsTheSleepLikeASignal() {
        let clock = FakeClock()
        let error = #expect(throws: EmbCacheError.self) {
            try make(clock: clock).sleep(.seconds(60)) { clock.now >= .milliseconds(100) }
        }
        #expect(isInterrupted(error))
        #expect(clock.now == .milliseconds(100))
    }

    @Test func aCommitWaitsThroughAnInterrupt() throws {
        let clock = FakeClock()
        try make(clock: clock, interrupted: { true }).waitingThroughInterrupts.sleep(.milliseconds(200))
        #expect(clock.now == .milliseconds(200))
    }

    @Test func runRetriesOnlyWhatItIsToldTo() throws {
        let clock = FakeClock()
        let policy = make(attempts: 4, clock: clock)
        var calls = 0
        var reconnects = 0
        let value = try policy.run(retryingOn: { $0 is Busy }, beforeRetry: { reconnects += 1 }) { () -> Int in
            calls += 1
            if calls < 3 { throw Busy() }
            return 42
        }
        #expect(value == 42 && calls == 3 && reconnects == 2)
        #expect(clock.now == .seconds(3))

        // Another error passes at once.
        calls = 0
        #expect(throws: Broken.self) {
            try policy.run(retryingOn: { $0 is Busy }) { () -> Int in
                calls += 1
                throw Broken()
            }
        }
        #expect(calls == 1)

        // After the last attempt, the last error.
        calls = 0
        #expect(throws: Busy.self) {
            try policy.run(retryingOn: { $0 is Busy }) { () -> Int in
                calls += 1
                throw Busy()
            }
        }
        #expect(calls == 4)
    }

    @Test func anInterruptEndsARunBetweenAttempts() {
        var calls = 0
        let error = #expect(throws: EmbCacheError.self) {
            try make(interrupted: { true }).run(retryingOn: { $0 is Busy }) { () -> Int in
                calls += 1
                throw Busy()
            }
        }
        #expect(isInterrupted(error))
        #expect(calls == 1)
    }

    /// The limits each caller had before it used the policy, which the
    /// man page states.
    @Test func theCallersKeepTheirLimits() {
        // S3: 6 attempts, retry n waits up to 0.2 s × 2^n, at most 10 s.
        let s3 = S3Client.retryPolicy
        #expect(s3.attempts == 6 && s3.budget == nil)
        #expect(
            (1...5).map { s3.ceiling(retry: $0) } == [400, 800, 1600, 3200, 6400].map { Duration.milliseconds($0) })
        #expect(s3.ceiling(retry: 6) == .seconds(10))
        // SQLite: 8 attempts, waits up to 0.05 s doubling, 6.35 s in all.
        let sqlite = SQLiteStore.busyRetries
        #expect(sqlite.attempts == 8 && sqlite.budget == nil)
        let most = (1...7).map { sqlite.ceiling(retry: $0) }.reduce(Duration.zero, +)
        #expect(most == .milliseconds(6350))
    }
}
