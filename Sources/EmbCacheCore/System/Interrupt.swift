import Glibc
import Synchronization

private let interruptSignal = Atomic<Int32>(0)

/// SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session)
/// set a flag that every wait in the engine polls, so an interrupted run
/// stops at a point where it can commit what it computed. A second signal
/// ends the process at once, as a user pressing Ctrl-C twice expects.
public enum Interrupt {
    /// Write errors are reported, never signals: EPIPE is a quiet end, and
    /// over a file size limit (`ulimit -f`) a write fails with EFBIG, which
    /// SQLite and the output report with their status.
    public static func ignoreWriteSignals() {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    /// For commands that poll the flag (the filter): SIGINT, SIGTERM and
    /// SIGHUP then stop at a point where the work done is committed. Other
    /// commands keep the default, which ends them inside a transaction
    /// SQLite rolls back.
    public static func install() {
        // A parent may hand us a blocked mask (threads of a thread pool
        // often block signals, and children inherit that).
        var handled = sigset_t()
        sigemptyset(&handled)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var current = sigaction()
            sigaction(sig, nil, &current)
            // A signal ignored on entry stays ignored (`nohup`, `cmd &`).
            if isIgnored(current) { continue }
            sigaddset(&handled, sig)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                if interruptSignal.exchange(received, ordering: .relaxed) != 0 { _exit(130) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, nil)
        }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    private static func isIgnored(_ action: sigaction) -> Bool {
        let handler = action.__sigaction_handler.sa_handler
        return unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    public static var isRequested: Bool { interruptSignal.load(ordering: .relaxed) != 0 }

    /// Throws `.interrupted` once a signal has arrived.
    public static func check() throws {
        if isRequested { throw EmbCacheError.interrupted }
    }
}
