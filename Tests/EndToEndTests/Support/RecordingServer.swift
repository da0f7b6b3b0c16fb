import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Fixtures/recording_server.py on 127.0.0.1: every HTTP API on one port,
/// each request logged with the exact bytes it was answered. One serves the
/// whole test run (`shared`); it ends when the test process does. Clients
/// tell their requests apart by a case word at the start of the path:
/// `root(case)` is where their base URLs begin.
final class RecordingServer: Sendable {
    static let script = Embcache.fixtures.appendingPathComponent("recording_server.py").path

    /// Started at first use; a failure to start fails each test that asks.
    static let shared = Result { try RecordingServer() }

    let port: Int
    let directory: String

    /// One request as the server logged it.
    struct Request: Decodable {
        var seq: Int
        var `case`: String
        var method: String
        /// From the API's name on: `/openai/v1/embeddings`.
        var path: String
        var query: String
        /// Names in lower case.
        var headers: [String: String]
        var body: String
        /// The bytes answered, in base64.
        var response: String
    }

    private init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "embcache-recording-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        let log = directory + "/server.log"
        let pid = try spawnLogged([pythonExecutable, Self.script, directory], log: log)
        port = try waitForPortFile(directory + "/port", process: pid, log: log, server: "recording_server.py")
    }

    /// `http://127.0.0.1:PORT/CASE`: a base URL that starts here has its
    /// requests logged under `name`. `replay-N` answers every request with
    /// the bytes request N was answered.
    func root(_ name: String) -> String { "http://127.0.0.1:\(port)/\(name)" }

    /// The requests logged under `name`, in the order they came.
    func requests(_ name: String) throws -> [Request] {
        guard let data = FileManager.default.contents(atPath: directory + "/requests.jsonl") else { return [] }
        // Other tests' requests are logged meanwhile: a line not yet ended
        // is left for later.
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        lines.removeLast()
        let decoder = JSONDecoder()
        return try lines.map { try decoder.decode(Request.self, from: $0) }.filter { $0.case == name }
    }
}
