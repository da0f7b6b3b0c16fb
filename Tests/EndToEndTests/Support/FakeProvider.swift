import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The package's fake-embedding-server on 127.0.0.1: OpenAI's wire format,
/// any number of requests held at once, and a record of each answer.
/// Stopped when the test lets go of it.
final class FakeProvider {
    /// Built with the tests: beside the embcache they run, else beside
    /// the test bundle (when $EMBCACHE_BIN names another build).
    static let binary: String = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates =
            [
                URL(fileURLWithPath: Embcache.binary).deletingLastPathComponent(), bundle,
                bundle.deletingLastPathComponent(),
            ]
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for directory in candidates {
            let path = directory.appendingPathComponent("fake-embedding-server").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        fatalError("fake-embedding-server not found beside \(Embcache.binary) or \(bundle.path)")
    }()

    let port: Int
    let directory = TemporaryDirectory()
    private let pid: pid_t

    /// Each request answered `latency` seconds after it arrived; with
    /// `hold`, only once `hold` requests are held (the oldest first), or,
    /// after `idle` seconds without an arrival, all at once.
    init(latency: Double = 0, hold: Int? = nil, idle: Double = 5, dimension: Int = 8) throws {
        let portFile = directory.file("port")
        var arguments = [
            Self.binary, "--port-file", portFile.path, "--latency", "\(latency)", "--dim", "\(dimension)",
            "--times", directory.file("times").path,
        ]
        if let hold { arguments += ["--hold", "\(hold)", "--idle", "\(idle)"] }
        let log = directory.file("server.log").path
        pid = try spawnLogged(arguments, log: log)
        port = try waitForPortFile(portFile.path, process: pid, log: log, server: "fake-embedding-server")
    }

    deinit {
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
    }

    func flags(model: String = "test-model") -> [String] {
        ["--provider", "openai", "--model", model, "--base-url", "http://127.0.0.1:\(port)/v1"]
    }

    var environment: [String: String] { ["OPENAI_API_KEY": "fake-key"] }

    /// One answered request, in the order answered.
    struct Answer {
        var arrived: Double
        var answered: Double
        var texts: Int
        /// Requests held when it was answered, itself included.
        var held: Int
        /// Requests that had arrived by then.
        var arrivals: Int
        /// `latency`, `full` (all slots held) or `idle` (none arrived for
        /// the idle time).
        var reason: String
    }

    var answers: [Answer] {
        let text = (try? String(contentsOf: directory.file("times"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let field = line.split(separator: " ")
            return Answer(
                arrived: Double(field[0])!, answered: Double(field[1])!, texts: Int(field[2])!, held: Int(field[3])!,
                arrivals: Int(field[4])!, reason: String(field[5]))
        }
    }

    /// The most requests held at once: each answered request spans its
    /// arrival to its answer, and this counts how many spans cover one
    /// instant at most.
    var mostInFlight: Int {
        mostOverlapping(answers.map { ($0.arrived, $0.answered) })
    }
}
