import CEmbCacheSystem

/// Threads whose work can wait a few milliseconds: commits and
/// checkpoints. On a machine with fewer cores than
/// busy threads, a request slot whose answer has arrived (or the provider
/// itself, when it runs here) then gets a core before them, and sends its
/// next request at once instead of after their time slice.
package enum ThreadPriority {
    /// Nice 5 weighs a third of nice 0: plenty for work that keeps up with
    /// the provider, never starved by it.
    static let backgroundIncrement: Int32 = 5

    /// Lowers the calling thread's priority, once, at its start.
    package static func lowerForBackgroundWork() {
        _ = embc_lower_thread_priority(backgroundIncrement)
    }
}
