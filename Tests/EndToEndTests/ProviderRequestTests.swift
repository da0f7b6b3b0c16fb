import Foundation
import Testing

/// What each API is sent, checked before it goes: model names that would
/// leave their place in the URL, spellings that make one request two
/// identities, values an API refuses, and where a key sends requests.
@Suite struct ProviderRequestTests {
    /// Gemini puts the model in the URL's path: a name that would end or
    /// leave its segment is refused as google-genai refuses it, before any
    /// request; a space is escaped.
    @Test(arguments: ["foo?bar", "../../x", "a b#c", "a&b", "models/", "a//b"])
    func geminiRefusesAModelNameThatWouldLeaveThePath(_ model: String) throws {
        let server = try EmbeddingServer(api: "gemini")
        let result = try Embcache.run(
            server.flags(model: model) + ["--cache-dir", TemporaryDirectory().path], stdin: corpus(2),
            environment: server.environment)
        #expect(result.status == 64, "\(result.stderrText)")
        #expect(
            result.stderrText.contains("embcache: --model \"\(model)\" is not a gemini model name"),
            "\(result.stderrText)")
        #expect(server.requests.isEmpty)
    }

    @Test func geminiEscapesTheModelsPathSegmentsAndKeepsTunedModels() throws {
        let server = try EmbeddingServer(api: "gemini")
        for model in ["a b", "tunedModels/my-model"] {
            let result = try Embcache.run(
                server.flags(model: model) + ["--cache-dir", TemporaryDirectory().path], stdin: corpus(2),
                environment: server.environment)
            #expect(result.status == 0, "\(result.stderrText)")
        }
        let paths = server.requests.map { $0["path"] as? String }
        #expect(
            paths == [
                "/v1beta/models/a%20b:batchEmbedContents", "/v1beta/tunedModels/my-model:batchEmbedContents",
            ])
        let sent = server.requests.map {
            (($0["body"] as? [String: Any])?["requests"] as? [[String: Any]])?.first?["model"] as? String
        }
        #expect(sent == ["models/a b", "tunedModels/my-model"])
    }

    /// `models/x` and `x` are one Gemini model, and a task type in any case
    /// one task type: the second spelling finds the first's vectors.
    @Test func oneGeminiRequestHasOneIdentityWhateverItsSpelling() throws {
        let server = try EmbeddingServer(api: "gemini")
        let cache = TemporaryDirectory()
        let spellings = [
            ("gemini-embedding-001", "RETRIEVAL_DOCUMENT"), ("models/gemini-embedding-001", "retrieval_document"),
            ("models/gemini-embedding-001", "Retrieval_Document"),
        ]
        var outputs: [Data] = []
        for (model, taskType) in spellings {
            let result = try Embcache.run(
                server.flags(model: model) + ["--task-type", taskType, "--cache-dir", cache.path], stdin: corpus(3),
                environment: server.environment)
            #expect(result.status == 0, "\(result.stderrText)")
            outputs.append(result.stdout)
        }
        #expect(server.requests.count == 1)
        #expect(Set(outputs).count == 1)
        let first = (server.requests.first?["body"] as? [String: Any])?["requests"] as? [[String: Any]]
        #expect(first?.first?["taskType"] as? String == "RETRIEVAL_DOCUMENT")
        let models = try Embcache.run(["models", "--cache-dir", cache.path])
        #expect(models.stdoutText.contains("gemini-embedding-001"), "\(models.stdoutText)")
        #expect(!models.stdoutText.contains("models/gemini"), "\(models.stdoutText)")
    }

    /// Voyage takes input types query and document only: another is
    /// refused before any request, instead of a 400 that splits batches.
    @Test func voyageRefusesAnInputTypeItDoesNotTake() throws {
        let server = try EmbeddingServer(api: "voyage")
        let refused = try Embcache.run(
            server.flags() + ["--input-type", "search_document", "--cache-dir", TemporaryDirectory().path],
            stdin: corpus(2), environment: server.environment)
        #expect(refused.status == 64)
        #expect(
            refused.stderrText.contains(
                "embcache: --input-type for voyage is one of query, document, not \"search_document\""),
            "\(refused.stderrText)")
        #expect(server.requests.isEmpty)
        let taken = try Embcache.run(
            server.flags() + ["--input-type", "query", "--cache-dir", TemporaryDirectory().path], stdin: corpus(2),
            environment: server.environment)
        #expect(taken.status == 0, "\(taken.stderrText)")
        #expect((server.requests.first?["body"] as? [String: Any])?["input_type"] as? String == "query")
    }

    /// A Voyage key from MongoDB Atlas (`al-`) goes to Atlas's endpoint, as
    /// the voyageai SDK sends it, unless --base-url says otherwise. The
    /// test server is the HTTPS proxy, which logs the host asked for.
    @Test func anAtlasVoyageKeyGoesToAtlasUnlessABaseURLIsGiven() throws {
        let proxy = try EmbeddingServer(api: "voyage")
        func connect(key: String) throws -> String? {
            let before = proxy.requests.count
            let result = try Embcache.run(
                [
                    "--provider", "voyage", "--model", "voyage-3", "--max-retries", "0", "--cache-dir",
                    TemporaryDirectory().path,
                ],
                stdin: corpus(1),
                environment: ["VOYAGE_API_KEY": key, "https_proxy": "http://127.0.0.1:\(proxy.port)"])
            #expect(result.status == 69, "\(result.stderrText)")
            let entries = proxy.requests.dropFirst(before)
            #expect(entries.count == 1)
            #expect(entries.first?["method"] as? String == "CONNECT")
            return entries.first?["path"] as? String
        }
        #expect(try connect(key: "al-0123456789abcdef") == "ai.mongodb.com:443")
        #expect(try connect(key: "pa-0123456789abcdef") == "api.voyageai.com:443")

        // --base-url wins over the key's default.
        let server = try EmbeddingServer(api: "voyage", key: "al-0123456789abcdef")
        let result = try Embcache.run(
            server.flags() + ["--cache-dir", TemporaryDirectory().path], stdin: corpus(2),
            environment: ["VOYAGE_API_KEY": "al-0123456789abcdef"])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(server.requests.count == 1)
    }
}
