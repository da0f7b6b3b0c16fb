import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `embcache serve` on 127.0.0.1 and an ephemeral port, its log in a file;
/// killed when the test lets go of it unless stopped first.
final class ServeProcess {
    static let requestsScript = Embcache.fixtures.appendingPathComponent("http_requests.py").path

    let port: Int
    let directory = TemporaryDirectory()
    private let pid: pid_t
    private var exited: Int32?

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    var log: String { (try? String(contentsOfFile: directory.file("serve.log").path, encoding: .utf8)) ?? "" }

    init(_ flags: [String], environment: [String: String] = [:]) throws {
        let portFile = directory.file("port").path
        let log = directory.file("serve.log").path
        let inherited = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        pid = try spawnLogged(
            [Embcache.binary, "serve", "--listen", "127.0.0.1:0", "--port-file", portFile] + flags, log: log,
            environment: inherited)
        port = try waitForPortFile(portFile, process: pid, log: log, server: "embcache serve")
    }

    deinit {
        if exited == nil {
            kill(pid, SIGKILL)
            waitpid(pid, nil, 0)
        }
    }

    /// Sends a signal and waits (30 s at most) for the exit status; nil if
    /// it did not exit, or died of a signal.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32? {
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(30)
        var status: Int32 = 0
        while Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = status
                return status & 0x7f == 0 ? (status >> 8) & 0xff : nil
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    /// One HTTP answer: its status, headers and body (parsed JSON, or the
    /// text when it is not JSON).
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: Any
        var json: [String: Any] { body as? [String: Any] ?? [:] }
        /// OpenAI's error object, when the body is one.
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    }

    /// Sends requests (see Fixtures/http_requests.py), one after another or
    /// all at once.
    func send(_ requests: [[String: Any]], concurrent: Bool = false) throws -> [Answer] {
        let input = try JSONSerialization.data(withJSONObject: requests)
        let result = try runProcess(
            pythonExecutable, [Self.requestsScript, String(port)] + (concurrent ? ["--concurrent"] : []), stdin: input)
        guard result.status == 0, let list = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]
        else { throw EmbeddingServer.ServerFailed(message: "requests failed: \(result.stderrText)\n\(log)") }
        return list.map {
            Answer(
                status: $0["status"] as! Int, headers: $0["headers"] as? [String: String] ?? [:], body: $0["body"]!)
        }
    }

    /// `POST /v1/embeddings` with these members.
    func embed(_ members: [String: Any], headers: [String: String]? = nil) throws -> Answer {
        var request: [String: Any] = ["path": "/v1/embeddings", "body": members]
        if let headers { request["headers"] = headers }
        return try send([request])[0]
    }

    func get(_ path: String, headers: [String: String] = [:]) throws -> Answer {
        try send([["method": "GET", "path": path, "headers": headers]])[0]
    }

    /// The value of one sample of /metrics (0 when absent).
    func metric(_ sample: String) throws -> Double {
        let text = try get("/metrics").body as? String ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.split(separator: " ").last!) ?? 0
        }
        return 0
    }
}

/// The float32 rows of an embeddings answer, as `--format f32` writes
/// them: base64 decoded, JSON numbers narrowed to float32.
func answerRows(_ answer: ServeProcess.Answer) -> Data {
    var rows = Data()
    for item in answer.json["data"] as? [[String: Any]] ?? [] {
        if let text = item["embedding"] as? String {
            rows.append(Data(base64Encoded: text) ?? Data())
        } else {
            for number in item["embedding"] as? [NSNumber] ?? [] {
                withUnsafeBytes(of: Float(number.doubleValue).bitPattern.littleEndian) { rows.append(contentsOf: $0) }
            }
        }
    }
    return rows
}
