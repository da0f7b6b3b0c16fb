#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

private let interruptSignal = Atomic<Int32>(0)

/// SIGINT and SIGTERM set a flag that every wait in the engine polls, so an
/// interrupted run stops at a point where it can commit what it computed. A
/// second signal ends the process at once, as a user pressing Ctrl-C twice
/// expects.
public enum Interrupt {
    public static func install() {
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { received in
                if interruptSignal.exchange(received, ordering: .relaxed) != 0 { _exit(130) }
            }
            #else
            action.__sigaction_u.__sa_handler = { received in
                if interruptSignal.exchange(received, ordering: .relaxed) != 0 { _exit(130) }
            }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, nil)
        }
    }

    public static var isRequested: Bool { interruptSignal.load(ordering: .relaxed) != 0 }

    /// Throws `.interrupted` once a signal has arrived.
    public static func check() throws {
        if isRequested { throw EmbCacheError.interrupted }
    }
}
