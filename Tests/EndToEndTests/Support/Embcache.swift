import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What one run of a process gave back.
struct ProcessResult {
    var status: Int32
    var stdout: Data
    var stderr: Data

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    var stdoutLines: [String] {
        stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

/// Runs the built `embcache` binary in real pipes: stdin is written from
/// one thread while stdout and stderr are drained on others, so a full pipe
/// can never deadlock the test.
enum Embcache {
    /// The binary under test: `$EMBCACHE_BIN`, else the one SwiftPM built
    /// beside the test bundle.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["EMBCACHE_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("embcache").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        for build in Bundle.allBundles.map({ $0.bundleURL.deletingLastPathComponent() }) {
            let path = build.appendingPathComponent("embcache").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        fatalError("embcache binary not found beside \(bundle.path); set EMBCACHE_BIN")
    }()

    /// The end-to-end tests' data, inside the repository (Fixtures/README.md).
    static let fixtures: URL = packageRoot.appendingPathComponent("Tests/EndToEndTests/Fixtures")

    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @discardableResult
    static func run(
        _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]
    ) throws -> ProcessResult {
        try runProcess(binary, arguments, stdin: stdin, environment: environment)
    }

    static func run(_ arguments: [String], stdin: String, environment: [String: String] = [:]) throws -> ProcessResult {
        try run(arguments, stdin: Data(stdin.utf8), environment: environment)
    }
}

/// Starts `executable`, feeds `stdin` and collects both outputs.
func runProcess(
    _ executable: String, _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]
) throws -> ProcessResult {
    let running = try RunningProcess(executable, arguments, environment: environment)
    running.feed(stdin)
    return running.finish()
}

/// posix_spawn with an empty signal mask: the test runner's threads block
/// signals (SIGCHLD, SIGTERM), and a child must not inherit that. Nor may
/// it inherit an ignored SIGHUP, SIGINT or SIGTERM (a runner started with
/// `nohup`, or as a background job): the tests send them.
func spawnUnblocked(
    _ argv: [String], environment: [String: String]? = nil, actions: inout posix_spawn_file_actions_t
) throws -> pid_t {
    let cArguments = argv.map { strdup($0) } + [nil]
    let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
    defer {
        cArguments.forEach { free($0) }
        envp?.forEach { free($0) }
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    posix_spawnattr_setsigmask(&attributes, &unblocked)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGHUP, SIGINT, SIGTERM] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let code =
        envp.map { posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, $0) }
        ?? posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
    guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ENOENT) }
    return pid
}

/// A child process on three pipes, driven by one poll loop: stdin is
/// written as the child reads it while stdout and stderr are drained, so
/// no pipe can fill and stall both sides.
final class RunningProcess {
    let pid: pid_t
    private var stdinFD: Int32
    private var stdoutFD: Int32
    private var stderrFD: Int32
    private var pendingInput: [UInt8] = []
    private var closeInputWhenDrained = false
    private var stdoutData = Data()
    private var stderrData = Data()
    private var openOutputs = 2

    /// Writing to a child that exited must be an error, not our death.
    private static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        Self.ignoreSIGPIPE
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "EMBCACHE_DIR")
        env.removeValue(forKey: "EMBCACHE_MODEL")
        // The shared cache is named by each test that uses it.
        for name in [
            "EMBCACHE_DB", "EMBCACHE_DB_RETRY_SECONDS", "PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE",
            "PGSSLMODE",
            // Nor any real AWS account (and this machine's CA bundle setting
            // breaks Litestream).
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CA_BUNDLE",
        ] {
            env.removeValue(forKey: name)
        }
        // Requests to the test servers go straight to 127.0.0.1, and no
        // real key of the developer's reaches a test.
        for name in [
            "http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
            "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "CO_API_KEY", "VOYAGE_API_KEY", "GEMINI_API_KEY",
            "OLLAMA_API_KEY", "TEI_API_KEY",
        ] {
            env.removeValue(forKey: name)
        }
        // Nor does the developer's own config file.
        env["XDG_CONFIG_HOME"] = "/nonexistent/embcache-test-config"
        for (key, value) in environment { env[key] = value }
        var pipes: [[Int32]] = [[0, 0], [0, 0], [0, 0]]
        for i in 0..<3 {
            guard pipe(&pipes[i]) == 0 else { throw POSIXError(.EMFILE) }
            for fd in pipes[i] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
        let spawned = Result { try spawnUnblocked([executable] + arguments, environment: env, actions: &actions) }
        close(pipes[0][0])
        close(pipes[1][1])
        close(pipes[2][1])
        pid = try spawned.get()
        stdinFD = pipes[0][1]
        stdoutFD = pipes[1][0]
        stderrFD = pipes[2][0]
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    /// Queues bytes for the child's stdin and pumps until they are written
    /// (or the child stops reading).
    func feed(_ data: Data) {
        pendingInput.append(contentsOf: data)
        pump(until: { self.pendingInput.isEmpty || self.stdinFD < 0 })
    }

    /// Pumps the pipes for a while, e.g. to let the child get going.
    func pump(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        pump(until: { Date() >= deadline })
    }

    /// Output so far.
    var stdoutSoFar: Data { stdoutData }
    var stderrSoFar: Data { stderrData }

    func signal(_ number: Int32) {
        kill(pid, number)
    }

    /// Closes stdin, drains both outputs and reaps the child.
    func finish() -> ProcessResult {
        closeInputWhenDrained = true
        pump(until: { self.openOutputs == 0 })
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ProcessResult(status: exitStatus, stdout: stdoutData, stderr: stderrData)
    }

    /// Closes the child's stdin once what was fed is written, without
    /// waiting for the child to end.
    func closeInput() {
        closeInputWhenDrained = true
        pump(until: { self.pendingInput.isEmpty || self.stdinFD < 0 })
        if stdinFD >= 0 {
            close(stdinFD)
            stdinFD = -1
        }
    }

    /// True once the child (and whatever inherited them) closed stdout and
    /// stderr: it has ended, or is about to.
    var outputsClosed: Bool { openOutputs == 0 }

    /// As `finish()`, but a child that has not closed its outputs within
    /// `seconds` is killed with SIGKILL: a hang becomes `hung == true`
    /// (and status 137) instead of a test that never ends.
    func finish(within seconds: Double) -> (result: ProcessResult, hung: Bool) {
        closeInputWhenDrained = true
        let deadline = Date().addingTimeInterval(seconds)
        pump(until: { self.openOutputs == 0 || Date() >= deadline })
        let hung = openOutputs != 0
        if hung { kill(pid, SIGKILL) }
        return (finish(), hung)
    }

    /// Sends SIGINT to a run that is waiting (for a lock, a server) and
    /// expects it to end at once as an interrupted run: status 130 and
    /// `embcache: interrupted` last. `waiting` says for what, in the
    /// failure message.
    @discardableResult
    func expectSIGINTEndsTheWait(for waiting: String, within seconds: Double = 8) -> ProcessResult {
        signal(SIGINT)
        let (result, hung) = finish(within: seconds)
        #expect(!hung, "still waiting for \(waiting) after SIGINT")
        #expect(result.status == 130)
        #expect(result.stderrText.hasSuffix("embcache: interrupted\n"), "\(result.stderrText)")
        return result
    }

    private func pump(until done: () -> Bool) {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while !done() {
            if closeInputWhenDrained && pendingInput.isEmpty && stdinFD >= 0 {
                close(stdinFD)
                stdinFD = -1
            }
            var fds: [pollfd] = []
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if stdinFD >= 0 && !pendingInput.isEmpty {
                fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0))
            }
            if openOutputs == 0 && fds.isEmpty { return }
            _ = poll(&fds, nfds_t(fds.count), 50)
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    let n = pendingInput.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
                    if n > 0 {
                        pendingInput.removeFirst(n)
                    } else if n < 0 && errno == EPIPE {
                        pendingInput.removeAll()
                        close(stdinFD)
                        stdinFD = -1
                    }
                } else {
                    let n = read(entry.fd, &chunk, chunk.count)
                    if n > 0 {
                        if entry.fd == stdoutFD {
                            stdoutData.append(contentsOf: chunk[..<n])
                        } else {
                            stderrData.append(contentsOf: chunk[..<n])
                        }
                    } else if n == 0 {
                        close(entry.fd)
                        openOutputs -= 1
                        if entry.fd == stdoutFD { stdoutFD = -1 } else { stderrFD = -1 }
                    }
                }
            }
        }
    }
}

/// A fresh directory, removed when the test is done with it.
final class TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("embcache-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ name: String, _ contents: String) -> URL {
        let target = file(name)
        try! Data(contents.utf8).write(to: target)
        return target
    }
}
