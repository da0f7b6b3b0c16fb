import Glibc

/// How an operation that fails for a while (a busy server, a locked file, a
/// restarting database) is tried again: a bounded number of attempts,
/// waits that grow exponentially with full jitter up to a cap, all waits
/// together within a budget, and a sleep that SIGINT, SIGTERM and SIGHUP
/// end at once. Every retry in the engine goes through one of these, so a
/// signal or a limit means the same everywhere.
///
/// The clock, the random source and the interruption check are values of
/// the policy, so that its tests run without sleeping or guessing.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included; nil: as many as the budget
    /// allows.
    public var attempts: Int?
    /// The ceiling of the first retry's wait; each retry doubles it.
    public var base: Duration
    /// No wait's ceiling goes past this.
    public var cap: Duration
    /// All the waits of one operation together; nil: only attempts bound
    /// the retries.
    public var budget: Duration?
    /// A computed wait that would pass the budget: cut to what is left of
    /// it (for a server that is waited for up to a time), or the end of the
    /// retries (for a limit a user sets on waiting). A wait that is asked
    /// for is never cut: the asker would refuse the early attempt.
    public var shortensLastWait: Bool
    /// A wait asked for (HTTP's `Retry-After`) longer than this ends the
    /// retries: whoever asks it is down, not busy.
    public var longestRequest: Duration?
    /// Where the time comes from and how it passes.
    public var clock: RetryClock
    /// A fraction in 0...1, uniform: the jitter.
    public var random: @Sendable () -> Double
    /// True once the run must stop: a wait then ends and throws
    /// `EmbCacheError.interrupted`.
    public var interrupted: @Sendable () -> Bool

    public init(
        attempts: Int?, base: Duration, cap: Duration, budget: Duration? = nil, shortensLastWait: Bool = false,
        longestRequest: Duration? = nil, clock: RetryClock = .continuous,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        interrupted: @escaping @Sendable () -> Bool = { Interrupt.isRequested }
    ) {
        precondition(attempts != nil || budget != nil, "a retry policy needs a bound")
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.budget = budget
        self.shortensLastWait = shortensLastWait
        self.longestRequest = longestRequest
        self.clock = clock
        self.random = random
        self.interrupted = interrupted
    }

    /// The same policy, its waits ended by nothing but their end: for a
    /// commit, which is what an interrupted run waits for before it exits
    /// (a second signal ends the process at once).
    public var waitingThroughInterrupts: RetryPolicy {
        var policy = self
        policy.interrupted = { false }
        return policy
    }

    /// The ceiling of the wait before retry `retry` (1 for the first):
    /// `base × 2^(retry − 1)`, at most `cap`.
    public func ceiling(retry: Int) -> Duration {
        let doublings = min(max(retry - 1, 0), 60)
        return base.seconds * Double(1 << doublings) >= cap.seconds ? cap : base * (1 << doublings)
    }

    /// A new count of attempts and waits, for one operation.
    public func start() -> Retries { Retries(policy: self) }

    /// Sleeps `duration`, waking at least every 50 ms to end early when
    /// `interrupted` (or `stop`, a run that is stopping) says so: then it
    /// throws `EmbCacheError.interrupted`.
    public func sleep(_ duration: Duration, unless stop: () -> Bool = { false }) throws {
        let end = clock.now() + duration
        while true {
            if interrupted() || stop() { throw EmbCacheError.interrupted }
            let left = end - clock.now()
            guard left > .zero else { return }
            clock.sleep(min(left, .milliseconds(50)))
        }
    }
}

/// A clock for waits: a monotonic reading and an uninterrupted sleep.
public struct RetryClock: Sendable {
    /// The time since some fixed instant.
    public var now: @Sendable () -> Duration
    public var sleep: @Sendable (Duration) -> Void

    public init(now: @escaping @Sendable () -> Duration, sleep: @escaping @Sendable (Duration) -> Void) {
        self.now = now
        self.sleep = sleep
    }

    public static let continuous: RetryClock = {
        let origin = ContinuousClock.now
        return RetryClock(
            now: { ContinuousClock.now - origin },
            sleep: { duration in
                let (seconds, attoseconds) = duration.components
                var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
                var left = timespec()
                // A signal cuts nanosleep short; the caller checks and sleeps again.
                _ = nanosleep(&request, &left)
            })
    }()
}

/// The attempts and waits of one operation under a `RetryPolicy`.
public struct Retries: Sendable {
    public let policy: RetryPolicy
    /// Attempts that failed so far.
    public private(set) var failures = 0
    /// The waits decided so far, together.
    public private(set) var waited = Duration.zero

    /// What comes after a failed attempt.
    public enum Decision: Sendable, Equatable {
        /// Attempt again after this wait.
        case wait(Duration)
        /// That was the last attempt.
        case noAttemptsLeft
        /// The next wait, this long, would pass the budget.
        case overBudget(Duration)
        /// The wait asked for is longer than `longestRequest`.
        case requestTooLong(Duration)
    }

    /// The number of the next attempt, from 1.
    public var nextAttempt: Int { failures + 1 }

    /// Records a failed attempt and decides what comes next: a wait of
    /// `requested` when one was asked for, else a random one up to the
    /// ceiling of this retry. A wait decided is counted as waited.
    public mutating func failed(requested: Duration? = nil) -> Decision {
        failures += 1
        if let requested, let longest = policy.longestRequest, requested > longest {
            return .requestTooLong(requested)
        }
        if let attempts = policy.attempts, failures >= attempts { return .noAttemptsLeft }
        var pause = requested ?? policy.ceiling(retry: failures) * policy.random()
        if let budget = policy.budget {
            let left = budget - waited
            if policy.shortensLastWait && requested == nil {
                guard left > .zero else { return .overBudget(pause) }
                pause = min(pause, left)
            } else if pause > left {
                return .overBudget(pause)
            }
        }
        waited += pause
        return .wait(pause)
    }
}

extension Retries {
    /// After a failed attempt: waits for the next one and returns true, or
    /// returns false when the policy gives up. For loops of the form
    /// `repeat { … } while try retries.waitAfterFailure()`.
    public mutating func waitAfterFailure(unless stop: () -> Bool = { false }) throws -> Bool {
        guard case .wait(let pause) = failed() else { return false }
        try policy.sleep(pause, unless: stop)
        return true
    }
}

extension RetryPolicy {
    /// Runs `body` until it returns, throws an error `retryable` does not
    /// accept, or the policy gives up, which throws the last error.
    /// `beforeRetry` runs after each wait (to reconnect, say).
    public func run<T>(
        retryingOn retryable: (any Error) -> Bool, beforeRetry: () -> Void = {}, _ body: () throws -> T
    ) throws -> T {
        var retries = start()
        while true {
            do {
                return try body()
            } catch let error where retryable(error) {
                guard try retries.waitAfterFailure() else { throw error }
                beforeRetry()
            }
        }
    }
}
