import Glibc
import Synchronization

/// Glibc does not export pipe2, so pipes are made close-on-exec in two
/// steps; holding this lock over both steps and the spawn keeps one child
/// from inheriting the pipes of another started at the same moment.
private let spawnLock = Mutex(())

/// A long-running child started with `/bin/sh -c`, spoken to one line at a
/// time over its stdin and stdout. Its stderr is ours, so its own messages
/// reach the user.
package final class ChildProcess: @unchecked Sendable {
    package enum Failure: Error {
        case spawn(Int32)
        case exited(String)
        case timedOut
        case interrupted
        case io(Int32)
        /// Output that is not one answer line per request.
        case protocolViolation(String)
    }

    let pid: pid_t
    private let input: Int32
    private let output: Int32
    /// What the child wrote of its answer so far; `pending[..<scanned]`
    /// holds no newline, so each read is scanned once (an answer of a
    /// gigabyte comes in 16,000 reads).
    private var pending: [UInt8] = []
    private var scanned = 0
    private var requests = 0

    /// The id of the next request to this child: 1, 2, …
    package func nextRequestID() -> Int {
        requests += 1
        return requests
    }
    private var reaped = false

    package init(command: String) throws(Failure) {
        let started = spawnLock.withLock { _ in Self.spawn(command) }
        switch started {
        case .failure(let failure): throw failure
        case .success(let (pid, input, output)):
            self.pid = pid
            self.input = input
            self.output = output
        }
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
    }

    private static func spawn(_ command: String) -> Result<(pid_t, Int32, Int32), Failure> {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { return .failure(.spawn(errno)) }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            return .failure(.spawn(errno))
        }
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO)

        // We ignore SIGPIPE and SIGXFSZ; the child must not inherit that.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGXFSZ)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        // A process group of its own, so that stopping the child also stops
        // whatever the shell started, which holds our stderr open. Signals
        // from the terminal reach embcache, which stops its children.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        var childPID: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { argv.forEach { free($0) } }
        let code = posix_spawn(&childPID, "/bin/sh", &actions, &attributes, argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard code == 0 else {
            close(toChild[1]); close(fromChild[0])
            return .failure(.spawn(code))
        }
        return .success((childPID, toChild[1], fromChild[0]))
    }

    deinit {
        terminate()
    }

    /// Sends one line and waits for one line back, writing and reading at
    /// once so that neither side's pipe buffer can fill and stall both.
    /// An interrupt does not abandon a request the child has started on:
    /// its answer is paid for and will be committed; the timeout bounds the
    /// wait, and a second signal ends embcache at once.
    package func exchange(_ request: [UInt8], timeout: Duration) throws(Failure) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var written = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // An answer must come after its whole request, alone: a line
        // already waiting would be taken as the answer to this request and
        // cache vectors for the wrong texts.
        let early = read(output, &chunk, chunk.count)
        if early > 0 || !pending.isEmpty {
            throw .protocolViolation("wrote output that answers no request")
        }
        while true {
            if let newline = newlineInUnscannedBytes() {
                guard written == request.count else {
                    throw .protocolViolation("answered before reading the whole request")
                }
                guard newline == pending.count - 1 else {
                    throw .protocolViolation("wrote more than one line for one request")
                }
                var line: [UInt8] = []
                swap(&line, &pending)
                line.removeLast()
                scanned = 0
                return line
            }
            scanned = pending.count
            if Interrupt.isRequested && written < request.count { throw .interrupted }
            if ContinuousClock.now >= deadline { throw .timedOut }
            var fds = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            if written < request.count { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), 100)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io(errno)
            }
            // A child that exited while something it started holds the
            // pipes open (`sleep 1000 & exit 0`) never closes them: its own
            // end is the answer, not the pipe's. Checked when the pipes are
            // quiet, so an answer already written is read first.
            if ready == 0 && hasExited() {
                throw .exited(exitDescription(orElse: "exited"))
            }
            if fds.count > 1 && fds[1].revents != 0 {
                let n = request.withUnsafeBytes { write(input, $0.baseAddress! + written, request.count - written) }
                if n > 0 {
                    written += n
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    throw .exited(exitDescription(orElse: "stopped reading its input"))
                }
            }
            if fds[0].revents != 0 {
                let n = read(output, &chunk, chunk.count)
                if n > 0 {
                    chunk.withUnsafeBufferPointer {
                        pending.append(contentsOf: UnsafeBufferPointer(rebasing: $0.prefix(n)))
                    }
                } else if n == 0 {
                    throw .exited(exitDescription(orElse: "closed its output"))
                } else if errno != EAGAIN && errno != EINTR {
                    throw .io(errno)
                }
            }
        }
    }

    /// The first newline in `pending[scanned...]`, with memchr: an answer
    /// line may be gigabytes long.
    private func newlineInUnscannedBytes() -> Int? {
        pending.withUnsafeBytes { bytes -> Int? in
            guard scanned < bytes.count, let base = bytes.baseAddress,
                let found = memchr(base + scanned, 0x0A, bytes.count - scanned)
            else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
    }

    /// Whether the child has ended, left unreaped (a zombie keeps its
    /// process group's id ours until `reap` kills the group).
    private func hasExited() -> Bool {
        var info = siginfo_t()
        return !reaped && waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0
            && info._sifields._kill.si_pid == pid
    }

    /// Closes the child's input, gives it a moment to exit, then kills its
    /// process group and reaps it.
    package func terminate() {
        guard !reaped else { return }
        _ = reap(graceMilliseconds: 200)
    }

    /// How the child ended, if it did within a moment; it is reaped either
    /// way.
    private func exitDescription(orElse fallback: String) -> String {
        guard !reaped, let status = reap(graceMilliseconds: 500) else { return fallback }
        let signal = status & 0x7F
        if signal != 0 { return "was killed by signal \(signal)" }
        return "exited with status \((status >> 8) & 0xFF)"
    }

    /// Waits up to `graceMilliseconds` for the child to exit, then kills
    /// its whole process group (whatever the shell started), while the
    /// unreaped child still holds the group's id, so the signal can only
    /// reach processes that are ours. Returns the child's status if it
    /// exited by itself.
    private func reap(graceMilliseconds: Int) -> Int32? {
        close(input)
        close(output)
        var exited = false
        for _ in 0..<max(graceMilliseconds / 10, 1) {
            if hasExited() {
                exited = true
                break
            }
            usleep(10_000)
        }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        return exited ? status : nil
    }
}
