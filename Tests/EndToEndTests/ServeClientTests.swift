import Foundation
import Testing

/// The clients people already use against `embcache serve`: the official
/// openai package, langchain-openai's OpenAIEmbeddings and llm (pinned in
/// Scripts/test-tools, driven by Fixtures/serve_clients.py). Each gets,
/// byte for byte after decoding, the vectors the filter writes for the
/// same texts and model.
@Suite struct ServeClientTests {
    static let python = ProcessInfo.processInfo.environment["EMBCACHE_TEST_CLIENTS_PYTHON"]
    static let script = Embcache.fixtures.appendingPathComponent("serve_clients.py").path
    static let clientKey = "client-key-0123-SECRET"

    static let texts = [
        "plain ascii text", "héllo wörld — ✓ 日本語 😀 cafe\u{301}", "tab\there \"quoted\" back\\slash",
        "new\nline", "plain ascii text", String(repeating: "a longer text ", count: 400),
    ]

    /// A server whose `small` is the OpenAI test server, with client keys.
    struct Setup {
        let upstream: EmbeddingServer
        let home = TemporaryDirectory()
        let cache = TemporaryDirectory()
        let config: URL
        let server: ServeProcess

        init() throws {
            upstream = try EmbeddingServer(api: "openai")
            config = ServeTests.config(upstream, in: home)
            server = try ServeProcess(
                ["--config", config.path, "--cache-dir", cache.path, "--client-key-env", "SERVE_KEYS"],
                environment: ServeTests.environment.merging(["SERVE_KEYS": ServeClientTests.clientKey]) { $1 })
        }

        func client(_ name: String, model: String = "small", extra: [String] = []) throws -> ProcessResult {
            guard let python = ServeClientTests.python else {
                throw EmbeddingServer.ServerFailed(
                    message: "EMBCACHE_TEST_CLIENTS_PYTHON is not set: run the suite through Scripts/test")
            }
            return try runProcess(
                python,
                [ServeClientTests.script, name, server.baseURL, model, "--key", ServeClientTests.clientKey] + extra,
                stdin: JSONSerialization.data(withJSONObject: ServeClientTests.texts))
        }

        func filterRows(model: String = "small", extra: [String] = []) throws -> Data {
            try ServeTests.filterRows(
                ServeClientTests.texts,
                ["--model", model, "--config", config.path, "--cache-dir", cache.path] + extra)
        }
    }

    @Test(arguments: ["openai-float", "openai-base64", "openai-default", "openai-single", "langchain", "llm"])
    func eachClientGetsTheFiltersVectors(_ name: String) throws {
        let setup = try Setup()
        let answered = try setup.client(name)
        #expect(answered.status == 0, "\(answered.stderrText)\n\(setup.server.log)")
        #expect(answered.stdout.count == Self.texts.count * 8 * 4)
        #expect(answered.stdout == (try setup.filterRows()))
        // The filter found every text in the cache the server filled.
        #expect(setup.upstream.requests.count == (name == "openai-single" ? Self.texts.count - 1 : 1))
    }

    @Test func dimensionsReachTheProviderAndGetACacheOfTheirOwn() throws {
        let setup = try Setup()
        let answered = try setup.client("openai-dimensions", extra: ["--dimensions", "4"])
        #expect(answered.status == 0, "\(answered.stderrText)")
        #expect(answered.stdout.count == Self.texts.count * 4 * 4)
        #expect(answered.stdout == (try setup.filterRows(extra: ["--dimensions", "4"])))
        let body = setup.upstream.requests.first?["body"] as? [String: Any]
        #expect(body?["dimensions"] as? Int == 4)
    }

    @Test func theClientSeesOpenAIsErrors() throws {
        let setup = try Setup()
        let answered = try setup.client("openai-errors")
        #expect(answered.status == 0, "\(answered.stderrText)")
        let checks = Dictionary(
            uniqueKeysWithValues: parseJSONLines(answered.stdout).map { ($0["check"] as! String, $0) })
        for name in ["token-id-arrays", "token-ids"] {
            #expect(checks[name]?["status"] as? Int == 400)
            #expect(checks[name]?["error"] as? String == "BadRequestError")
            #expect(checks[name]?["param"] as? String == "input")
        }
        #expect(checks["unknown-model"]?["status"] as? Int == 404)
        #expect(checks["unknown-model"]?["code"] as? String == "model_not_found")
        #expect(checks["wrong-key"]?["status"] as? Int == 401)
        #expect(checks["wrong-key"]?["error"] as? String == "AuthenticationError")
        #expect(setup.upstream.requests.isEmpty)
    }
}
