import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Network namespaces of a test's own making: a "server" namespace joined
/// to each host's namespace by a veth pair of its own, host k at
/// 10.231.k.2 and the server at 10.231.k.1 on that link. The addresses
/// exist only inside these namespaces; nothing of the machine's own
/// network is touched. `remove()` deletes them all.
final class TestNetwork {
    static let ip: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Root with CAP_NET_ADMIN and iproute2: a namespace can be made and
    /// deleted here.
    static let available: Bool = {
        guard geteuid() == 0, let ip else { return false }
        let probe = "embcache-probe-\(getpid())"
        guard (try? runProcess(ip, ["netns", "add", probe]))?.status == 0 else { return false }
        return (try? runProcess(ip, ["netns", "delete", probe]))?.status == 0
    }()

    let server: String
    let hosts: [String]
    private var made: [String] = []

    init(hosts count: Int) throws {
        let ip = try #require(Self.ip)
        let tag = "embcache-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        server = tag + "-server"
        hosts = (1...count).map { "\(tag)-host\($0)" }
        do {
            for namespace in [server] + hosts {
                try Self.ip(["netns", "add", namespace])
                made.append(namespace)
                try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
            }
            for (k, host) in zip(1..., hosts) {
                try Self.ip([
                    "-n", server, "link", "add", "host\(k)", "type", "veth", "peer", "name", "server", "netns", host,
                ])
                try Self.ip(["-n", server, "address", "add", "\(serverAddress(forHost: k))/24", "dev", "host\(k)"])
                try Self.ip(["-n", server, "link", "set", "host\(k)", "up"])
                try Self.ip(["-n", host, "address", "add", "10.231.\(k).2/24", "dev", "server"])
                try Self.ip(["-n", host, "link", "set", "server", "up"])
            }
        } catch {
            remove()
            throw error
        }
        _ = ip
    }

    /// The server's address as host k (1-based) reaches it.
    func serverAddress(forHost k: Int) -> String { "10.231.\(k).1" }

    /// The words that run a command inside `namespace`.
    func inside(_ namespace: String) -> [String] { [Self.ip!, "netns", "exec", namespace] }

    /// Runs a command inside `namespace` to its end.
    func run(_ namespace: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let words = inside(namespace) + arguments
        return try runProcess(words[0], Array(words.dropFirst()), environment: environment)
    }

    /// Starts a command inside `namespace` (the process is the command
    /// itself: `ip netns exec` execs it).
    func start(_ namespace: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> RunningProcess
    {
        let words = inside(namespace) + arguments
        return try RunningProcess(words[0], Array(words.dropFirst()), environment: environment)
    }

    /// Deletes the namespaces (their veth pairs go with them).
    func remove() {
        for namespace in made.reversed() { _ = try? runProcess(Self.ip!, ["netns", "delete", namespace]) }
        made = []
    }

    private static func ip(_ arguments: [String]) throws {
        let result = try runProcess(Self.ip!, arguments)
        try #require(result.status == 0, "ip \(arguments.joined(separator: " ")): \(result.stderrText)")
    }
}
