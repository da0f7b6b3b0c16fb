import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Fixtures/embedding_server.py on 127.0.0.1: one embedding API's wire
/// format, with faults on demand and a log of every request it got.
/// Stopped when the test lets go of it.
final class EmbeddingServer {
    static let script = Embcache.fixtures.appendingPathComponent("embedding_server.py")
    static let key = "sk-test-0123456789abcdef-SECRET"

    let api: String
    let port: Int
    let directory = TemporaryDirectory()
    private let pid: pid_t

    var logURL: URL { directory.file("requests.jsonl") }

    /// `http://127.0.0.1:PORT` plus the path prefix the API's base URL has.
    var baseURL: String {
        let root = "http://127.0.0.1:\(port)"
        switch api {
        case "openai", "voyage": return root + "/v1"
        case "gemini": return root + "/v1beta"
        default: return root
        }
    }

    /// `launcher` runs the server (e.g. inside a network namespace), on
    /// `host` (127.0.0.1 unless given).
    init(
        api: String, faults: [String] = [], dimension: Int = 8, latency: Double = 0, key: String? = EmbeddingServer.key,
        launcher: [String] = [], host: String? = nil
    )
        throws
    {
        self.api = api
        let portFile = directory.file("port")
        var arguments = [
            Self.script.path, "--api", api, "--port-file", portFile.path, "--dim", "\(dimension)",
            "--latency", "\(latency)", "--log", directory.file("requests.jsonl").path, "--times",
            directory.file("times").path,
        ]
        if let key { arguments += ["--key", key] }
        for fault in faults { arguments += ["--fault", fault] }
        if let host { arguments += ["--host", host] }
        let log = directory.file("server.log").path
        pid = try spawnLogged(launcher + [pythonExecutable] + arguments, log: log)
        port = try waitForPortFile(portFile.path, process: pid, log: log, server: "embedding_server.py")
    }

    deinit {
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
    }

    /// The requests the server got, in order.
    var requests: [[String: Any]] {
        guard let data = try? Data(contentsOf: logURL) else { return [] }
        return parseJSONLines(data)
    }

    /// The most requests the server held at once: each answered request
    /// spans its arrival to its answer, and this counts how many spans
    /// cover one instant at most.
    var mostInFlight: Int {
        let text = (try? String(contentsOf: directory.file("times"), encoding: .utf8)) ?? ""
        let spans = text.split(separator: "\n").map { $0.split(separator: " ").map { Double($0)! } }
        return mostOverlapping(spans.map { ($0[0], $0[1]) })
    }

    /// The flags that point embcache at this server.
    func flags(model: String = "test-model") -> [String] {
        ["--provider", api, "--model", model, "--base-url", baseURL]
            + (api == "azure" ? ["--deployment", "test-deployment"] : [])
    }

    /// The environment holding the key in the API's usual variable.
    var environment: [String: String] { Self.environment(api: api, key: Self.key) }

    /// The environment holding `key` in `api`'s usual variable.
    static func environment(api: String, key: String) -> [String: String] {
        let variable =
            switch api {
            case "openai": "OPENAI_API_KEY"
            case "azure": "AZURE_OPENAI_API_KEY"
            case "cohere": "CO_API_KEY"
            case "voyage": "VOYAGE_API_KEY"
            case "gemini": "GEMINI_API_KEY"
            case "ollama": "OLLAMA_API_KEY"
            default: "TEI_API_KEY"
            }
        return [variable: key]
    }

    /// The vectors the server gives these texts under embcache's default
    /// request for this API (the script's docstring defines them).
    func expectedVectors(_ texts: [String], model: String, dimension: Int = 8) throws -> [[Float]] {
        let params =
            switch api {
            case "ollama": "truncate=true"
            case "cohere": "input_type=search_document;truncate=END"
            case "voyage": "input_type=null;truncation=true"
            case "gemini": "taskType=TASK_TYPE_UNSPECIFIED"
            case "tei": "normalize=false;truncate=false"
            default: ""
            }
        let lines = try texts.map { text in
            let line = try JSONSerialization.data(withJSONObject: [
                "model": api == "tei" ? "tei" : model, "text": text, "dim": dimension, "params": params,
            ])
            return String(decoding: line, as: UTF8.self) + "\n"
        }.joined()
        let result = try runProcess(pythonExecutable, [Self.script.path, "--print-vectors"], stdin: Data(lines.utf8))
        return parseJSONLines(result.stdout).map { ($0["vector"] as! [NSNumber]).map { Float($0.doubleValue) } }
    }

    struct ServerFailed: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
