import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `embcache serve` in a real process on 127.0.0.1, against the test
/// server that speaks OpenAI's wire format: the filter's vectors, errors in
/// OpenAI's shape, misses gathered and computed once, client keys,
/// shutdown and kill -9.
@Suite struct ServeTests {
    static let texts = [
        "the first text", "naïve café ☕", "line\nbreak and \"quotes\"", "emoji 🧪 and tab\t", "the first text",
        String(repeating: "long text ", count: 300),
    ]

    /// A config file naming `small`, served by `server`, and `tiny`
    /// (hash-16); `extra` lines go into small's table.
    static func config(_ server: EmbeddingServer, in directory: TemporaryDirectory, extra: String = "") -> URL {
        directory.write(
            "config.toml",
            """
            [models.small]
            provider = "openai"
            model = "text-embedding-3-small"
            base_url = "\(server.baseURL)"
            api_key_env = "TEAM_KEY"
            \(extra)

            [models.tiny]
            provider = "hash"
            model = "hash-16"
            """)
    }

    static let environment = ["TEAM_KEY": EmbeddingServer.key]

    static func jsonl(_ texts: [String]) throws -> Data {
        var lines = Data()
        for text in texts {
            lines.append(try JSONSerialization.data(withJSONObject: ["text": text]))
            lines.append(0x0A)
        }
        return lines
    }

    /// The filter's f32 rows for these texts and flags.
    static func filterRows(_ texts: [String], _ flags: [String]) throws -> Data {
        let result = try Embcache.run(flags + ["--format", "f32"], stdin: jsonl(texts), environment: environment)
        #expect(result.status == 0, "\(result.stderrText)")
        return result.stdout
    }

    /// The server answers with the filter's vectors, in float and base64,
    /// for a config model and a built-in one; what one computed, the
    /// other answers without a request to the provider.
    @Test func theFilterAndTheServerShareVectors() throws {
        let upstream = try EmbeddingServer(api: "openai")
        let home = TemporaryDirectory()
        let cache = TemporaryDirectory()
        let config = Self.config(upstream, in: home)
        let server = try ServeProcess(
            ["--config", config.path, "--cache-dir", cache.path], environment: Self.environment)

        let float = try server.embed(["model": "small", "input": Self.texts, "user": "someone"])
        #expect(float.status == 200, "\(float.body)")
        #expect(float.json["object"] as? String == "list")
        #expect(float.json["model"] as? String == "small")
        let data = float.json["data"] as? [[String: Any]] ?? []
        #expect(data.map { $0["index"] as? Int } == Array(0..<Self.texts.count))
        #expect(data.allSatisfy { $0["object"] as? String == "embedding" })
        let usage = float.json["usage"] as? [String: Int] ?? [:]
        #expect(usage["prompt_tokens"] ?? 0 > 0 && usage["prompt_tokens"] == usage["total_tokens"])
        let base64 = try server.embed(["model": "small", "input": Self.texts, "encoding_format": "base64"])
        #expect(base64.status == 200)
        #expect(answerRows(base64) == answerRows(float))
        // One request upstream: the repeated text went once, the base64
        // request was answered from the cache.
        #expect(upstream.requests.count == 1)
        #expect(upstream.requests.first?["inputs"] as? Int == Self.texts.count - 1)

        let flags = ["--model", "small", "--config", config.path, "--cache-dir", cache.path]
        #expect(try Self.filterRows(Self.texts, flags) == answerRows(float))
        #expect(upstream.requests.count == 1)

        // The other way round: the filter computes, the server answers.
        let later = ["computed by the filter", "and another"]
        let filtered = try Self.filterRows(later, flags)
        #expect(upstream.requests.count == 2)
        let single = try server.embed(["model": "small", "input": later[1]])
        #expect(answerRows(single) == filtered.suffix(filtered.count / 2))
        #expect(upstream.requests.count == 2)

        for model in ["tiny", "hash-256"] {
            let answer = try server.embed(["model": model, "input": Self.texts])
            #expect(answer.status == 200, "\(answer.body)")
            let rows = try Self.filterRows(
                Self.texts, ["--model", model, "--config", config.path, "--cache-dir", cache.path])
            #expect(answerRows(answer) == rows)
        }

        let models = try server.get("/v1/models")
        #expect((models.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["small", "tiny"])
        #expect(try server.get("/health").status == 200)
        #expect(server.stop() == 0)
    }

    /// On the shared cache in PostgreSQL: the server and a filter on
    /// another machine answer each other's texts, and the password shows
    /// nowhere.
    @Test(.enabled(if: TestDatabase.available, "needs the PostgreSQL server of Scripts/test"))
    func theServerSharesACacheOnPostgreSQL() throws {
        let db = try TestDatabase.fresh()
        let server = try ServeProcess(["--db", db])
        let answer = try server.embed(["model": "hash-32", "input": Self.texts])
        #expect(answer.status == 200, "\(answer.body)\n\(server.log)")
        #expect(try Self.filterRows(Self.texts, ["--model", "hash-32", "--db", db]) == answerRows(answer))
        let later = try Self.filterRows(["from the filter"], ["--model", "hash-32", "--db", db])
        #expect(answerRows(try server.embed(["model": "hash-32", "input": "from the filter"])) == later)
        #expect(try server.metric(#"embcache_texts_total{model="hash-32",result="hit"}"#) == 1)
        let metrics = try server.get("/metrics").body as? String ?? ""
        #expect(server.stop() == 0)
        for text in [server.log, metrics] { #expect(!text.contains(TestDatabase.password)) }
    }

    /// JSON escapes read as the filter reads them: the same escaped text
    /// gets the same key, so the same vector, from either.
    @Test func escapedTextsGetTheFiltersKeys() throws {
        let cache = TemporaryDirectory()
        let server = try ServeProcess(["--cache-dir", cache.path])
        let escaped = #""caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \t\n\u0001""#
        let answer = try server.send([
            ["path": "/v1/embeddings", "body": "{\"model\":\"hash-64\",\"input\":[\(escaped)]}"]
        ])[0]
        #expect(answer.status == 200, "\(answer.body)")
        let filter = try Embcache.run(
            ["--model", "hash-64", "--cache-dir", cache.path, "--format", "f32"], stdin: "{\"text\":\(escaped)}\n")
        #expect(filter.status == 0)
        #expect(answerRows(answer) == filter.stdout)
        // The filter found the server's vector: one row in the cache.
        let models = try Embcache.run(["models", "--cache-dir", cache.path])
        #expect(models.stdoutLines == ["hash-64\t64\t1"])
    }

    /// Concurrent requests that share texts: their misses go upstream in
    /// few requests, each distinct text once, and each request gets its own
    /// texts' vectors.
    @Test func concurrentMissesAreGatheredAndEachTextIsComputedOnce() throws {
        let upstream = try EmbeddingServer(api: "openai", latency: 0.3)
        let home = TemporaryDirectory()
        let cache = TemporaryDirectory()
        let server = try ServeProcess(
            ["--config", Self.config(upstream, in: home).path, "--cache-dir", cache.path, "--batch-wait", "100"],
            environment: Self.environment)
        let clients = 24
        let inputs = (0..<clients).map { ["shared one", "client \($0) alone", "shared two"] }
        let answers = try server.send(
            inputs.map { ["path": "/v1/embeddings", "body": ["model": "small", "input": $0]] }, concurrent: true)
        #expect(answers.allSatisfy { $0.status == 200 })
        let sent = upstream.requests.compactMap { $0["inputs"] as? Int }
        #expect(sent.reduce(0, +) == clients + 2, "each distinct text computed once: \(sent)")
        #expect(sent.count <= 4, "misses gathered into few requests: \(sent)")

        let expected = try upstream.expectedVectors(
            inputs.flatMap { $0 }, model: "text-embedding-3-small")
        var rows = Data()
        for vector in expected {
            // The test server's vectors are scaled to unit length as the
            // filter and the server write them.
            let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            for value in vector {
                withUnsafeBytes(of: Float(Double(value) / norm).bitPattern.littleEndian) { rows.append(contentsOf: $0) }
            }
        }
        #expect(answers.map(answerRows).reduce(Data(), +) == rows)
        #expect(try server.metric(#"embcache_texts_total{model="small",result="miss"}"#) == Double(clients + 2))
        #expect(
            try server.metric(#"embcache_texts_total{model="small",result="shared"}"#)
                == Double(2 * clients - 2))
        #expect(try server.metric(#"embcache_upstream_requests_total{model="small"}"#) == Double(sent.count))
        #expect(try server.metric(#"embcache_upstream_texts_total{model="small"}"#) == Double(clients + 2))
    }

    struct BadRequest: CustomTestStringConvertible, Sendable {
        var name: String
        var body: String
        var status: Int
        var param: String?
        var testDescription: String { name }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(name: "token ids", body: #"{"model":"tiny","input":[1,2,3]}"#, status: 400, param: "input"),
        BadRequest(
            name: "arrays of token ids", body: #"{"model":"tiny","input":[[1,2],[3]]}"#, status: 400, param: "input"),
        BadRequest(name: "an unknown model", body: #"{"model":"nope","input":"x"}"#, status: 404, param: "model"),
        BadRequest(name: "no model", body: #"{"input":"x"}"#, status: 400, param: "model"),
        BadRequest(name: "no input", body: #"{"model":"tiny"}"#, status: 400, param: "input"),
        BadRequest(name: "an empty array", body: #"{"model":"tiny","input":[]}"#, status: 400, param: "input"),
        BadRequest(name: "an empty text", body: #"{"model":"tiny","input":["a",""]}"#, status: 400, param: "input"),
        BadRequest(name: "a number", body: #"{"model":"tiny","input":7}"#, status: 400, param: "input"),
        BadRequest(
            name: "too many texts", body: #"{"model":"tiny","input":["a","b","c","d"]}"#, status: 400, param: "input"),
        BadRequest(
            name: "another encoding", body: #"{"model":"tiny","input":"x","encoding_format":"int8"}"#, status: 400,
            param: "encoding_format"),
        BadRequest(
            name: "zero dimensions", body: #"{"model":"small","input":"x","dimensions":0}"#, status: 400,
            param: "dimensions"),
        BadRequest(
            name: "dimensions a hash model has not", body: #"{"model":"tiny","input":"x","dimensions":8}"#, status: 400,
            param: "dimensions"),
        BadRequest(name: "not JSON", body: "{\"model\":", status: 400, param: nil),
        BadRequest(
            name: "a body over the limit",
            body: "{\"model\":\"tiny\",\"input\":\"\(String(repeating: "x", count: 5000))\"}", status: 413, param: nil),
    ]

    /// Each bad request gets its status and OpenAI's error shape, and the
    /// server goes on.
    @Test(arguments: badRequests)
    func badRequestsGetOpenAIsErrorShape(_ bad: BadRequest) throws {
        let upstream = try EmbeddingServer(api: "openai")
        let home = TemporaryDirectory()
        let server = try ServeProcess(
            [
                "--config", Self.config(upstream, in: home).path, "--cache-dir", TemporaryDirectory().path,
                "--max-inputs", "3", "--max-body-bytes", "4096",
            ], environment: Self.environment)
        let answer = try server.send([["path": "/v1/embeddings", "body": bad.body]])[0]
        #expect(answer.status == bad.status, "\(answer.body)")
        #expect(answer.headers["content-type"] == "application/json")
        #expect(answer.error["type"] as? String == "invalid_request_error")
        #expect(!(answer.error["message"] as? String ?? "").isEmpty)
        #expect(answer.error["param"] as? String == bad.param)
        #expect(answer.error.keys.sorted() == ["code", "message", "param", "type"])
        if bad.status == 404 { #expect(answer.error["code"] as? String == "model_not_found") }
        #expect(upstream.requests.isEmpty)
        #expect(try server.embed(["model": "tiny", "input": "still serving"]).status == 200)
    }

    /// A provider that fails is a 502 without its words or the key; a text
    /// it refuses fails only the request that holds it; the server keeps
    /// serving, and the key appears in no answer, log line or metric.
    @Test func providerFailuresStayWithTheirRequests() throws {
        let upstream = try EmbeddingServer(
            api: "openai", faults: ["echo_key,times=1", "status=500,times=1", "reject=refused text"])
        let home = TemporaryDirectory()
        let server = try ServeProcess(
            [
                "--config", Self.config(upstream, in: home, extra: "max_retries = 0").path, "--cache-dir",
                TemporaryDirectory().path,
            ], environment: Self.environment)
        // The provider's 400 quoting the key is a refusal of the text; its
        // 500 a failure of the provider. Neither answer carries its words.
        for (status, type) in [(400, "invalid_request_error"), (502, "upstream_error")] {
            let failed = try server.embed(["model": "small", "input": "any text"])
            #expect(failed.status == status, "\(failed.body)")
            #expect(failed.error["type"] as? String == type)
            let text = try String(decoding: JSONSerialization.data(withJSONObject: failed.json), as: UTF8.self)
            #expect(!text.contains("SECRET") && !text.contains("0123456789"), "\(text)")
        }
        let answers = try server.send(
            [
                ["path": "/v1/embeddings", "body": ["model": "small", "input": ["kept text", "refused text"]]],
                ["path": "/v1/embeddings", "body": ["model": "small", "input": ["other text"]]],
            ], concurrent: true)
        #expect(answers[0].status == 400)
        #expect(answers[0].error["param"] as? String == "input")
        #expect((answers[0].error["message"] as? String ?? "").contains("input[1]"))
        #expect(answers[1].status == 200)
        // The refused text's neighbour was committed.
        let before = upstream.requests.count
        #expect(try server.embed(["model": "small", "input": "kept text"]).status == 200)
        #expect(upstream.requests.count == before)
        #expect(try server.metric(#"embcache_upstream_errors_total{model="small"}"#) >= 2)
        let metrics = try server.get("/metrics").body as? String ?? ""
        #expect(server.stop() == 0)
        for text in [server.log, metrics] { #expect(!text.contains(EmbeddingServer.key), "\(text)") }
    }

    /// Two names of one model share one service, so a text both ask for
    /// at once is computed once; a model the server cannot serve is a 503
    /// whose body says nothing of why, and one without its key a 502; past
    /// --max-models, a new model is refused.
    @Test func modelsAreSharedByIdentityAndBounded() throws {
        let upstream = try EmbeddingServer(api: "openai", latency: 0.3)
        let home = TemporaryDirectory()
        let config = home.write(
            "config.toml",
            """
            [models.small]
            provider = "openai"
            model = "text-embedding-3-small"
            base_url = "\(upstream.baseURL)"
            api_key_env = "TEAM_KEY"

            [models.alias]
            provider = "openai"
            model = "text-embedding-3-small"
            base_url = "\(upstream.baseURL)"
            api_key_env = "TEAM_KEY"

            [models.keyless]
            provider = "openai"
            model = "text-embedding-3-large"
            base_url = "\(upstream.baseURL)"
            api_key_env = "NO_SUCH_KEY_VARIABLE"

            [models.broken]
            provider = "no-such-provider"
            """)
        let server = try ServeProcess(
            ["--config", config.path, "--cache-dir", TemporaryDirectory().path, "--max-models", "3"],
            environment: Self.environment)
        let answers = try server.send(
            ["small", "alias"].map { ["path": "/v1/embeddings", "body": ["model": $0, "input": "asked by both"]] },
            concurrent: true)
        #expect(answers.allSatisfy { $0.status == 200 })
        #expect(answerRows(answers[0]) == answerRows(answers[1]))
        #expect(upstream.requests.compactMap { $0["inputs"] as? Int } == [1])

        for (model, status, secret) in [("broken", 503, "no-such-provider"), ("keyless", 502, "NO_SUCH_KEY_VARIABLE")] {
            let failed = try server.embed(["model": model, "input": "x"])
            #expect(failed.status == status, "\(failed.body)")
            #expect(!(failed.error["message"] as? String ?? "").contains(secret))
            #expect(server.log.contains(secret))
        }
        // small (with alias) and keyless are open, broken is not.
        #expect(try server.embed(["model": "hash-8", "input": "x"]).status == 200)
        let fourth = try server.embed(["model": "hash-16", "input": "x"])
        #expect(fourth.status == 400)
        #expect((fourth.error["message"] as? String ?? "").contains("--max-models"))
        #expect(try server.embed(["model": "hash-8", "input": "y"]).status == 200)
    }

    /// Client keys are bearer tokens, required on every endpoint but
    /// /health; beyond loopback the server does not start without them.
    @Test func clientKeysGuardTheServer() throws {
        let server = try ServeProcess(
            ["--cache-dir", TemporaryDirectory().path, "--client-key-env", "SERVE_KEYS"],
            environment: ["SERVE_KEYS": "first-key,second-key"])
        let body: [String: Any] = ["model": "hash-8", "input": "a text"]
        let json = "application/json"
        #expect(try server.embed(body, headers: ["Content-Type": json]).status == 401)
        let wrong = try server.embed(body, headers: ["Content-Type": json, "Authorization": "Bearer first-kez"])
        #expect(wrong.status == 401)
        #expect(wrong.error["code"] as? String == "invalid_api_key")
        #expect(
            try server.embed(body, headers: ["Content-Type": json, "Authorization": "Bearer first-key1"]).status == 401)
        #expect(
            try server.embed(body, headers: ["Content-Type": json, "Authorization": "Bearer second-key"]).status == 200)
        // The scheme's name is case-insensitive.
        let lower = try server.embed(body, headers: ["Content-Type": json, "Authorization": "bearer second-key"])
        #expect(lower.status == 200)
        #expect(try server.get("/metrics").status == 401)
        #expect(try server.get("/v1/models").status == 401)
        #expect(try server.get("/health").status == 200)

        let open = try Embcache.run(["serve", "--listen", "0.0.0.0:0", "--cache-dir", TemporaryDirectory().path])
        #expect(open.status == 64)
        #expect(open.stderrText.contains("--client-key-env"))
        // A name that starts like a loopback address is not one.
        let named = try Embcache.run([
            "serve", "--listen", "127.example.com:0", "--cache-dir", TemporaryDirectory().path,
        ])
        #expect(named.status == 64)
        let unset = try Embcache.run(["serve", "--listen", "127.0.0.1:0", "--client-key-env", "NO_SUCH_VARIABLE_X"])
        #expect(unset.status == 78)
    }

    /// SIGTERM while a request waits for its provider: the request is
    /// answered, its vectors are in the cache, the server exits 0.
    @Test func sigtermAnswersWhatWasTakenAndCommits() throws {
        let upstream = try EmbeddingServer(api: "openai", latency: 1.5)
        let home = TemporaryDirectory()
        let cache = TemporaryDirectory()
        let config = Self.config(upstream, in: home)
        let server = try ServeProcess(
            ["--config", config.path, "--cache-dir", cache.path], environment: Self.environment)
        let request = try JSONSerialization.data(withJSONObject: [
            ["path": "/v1/embeddings", "body": ["model": "small", "input": ["slow one", "slow two"]]]
        ])
        let client = try RunningProcess(pythonExecutable, [ServeProcess.requestsScript, String(server.port)])
        client.feed(request)
        client.closeInput()
        // Python starts and the request reaches the provider well within
        // this; its answer comes 1.5 s after it arrived.
        Thread.sleep(forTimeInterval: 0.7)
        #expect(server.stop() == 0, "\(server.log)")
        let answered = client.finish()
        let answers = try JSONSerialization.jsonObject(with: answered.stdout) as? [[String: Any]] ?? []
        #expect(answers.first?["status"] as? Int == 200, "\(answered.stderrText)")
        let offline = try Embcache.run(
            ["get", "--model", "small", "--config", config.path, "--cache-dir", cache.path],
            stdin: Self.jsonl(["slow one", "slow two"]), environment: Self.environment)
        #expect(offline.status == 0, "\(offline.stderrText)")
        #expect(upstream.requests.count == 1)
    }

    /// kill -9 with requests in flight loses at most what was not
    /// committed; a new server answers every text with its true vector.
    @Test func killNineLeavesNoWrongVector() throws {
        let upstream = try EmbeddingServer(api: "openai", latency: 0.4)
        let home = TemporaryDirectory()
        let cache = TemporaryDirectory()
        let config = Self.config(upstream, in: home)
        let flags = ["--config", config.path, "--cache-dir", cache.path, "--batch-wait", "1"]
        let texts = (0..<40).map { "text \($0) for the crash" }
        var first: ServeProcess? = try ServeProcess(flags, environment: Self.environment)
        let port = first!.port
        let client = try RunningProcess(pythonExecutable, [ServeProcess.requestsScript, String(port), "--concurrent"])
        client.feed(
            try JSONSerialization.data(
                withJSONObject: texts.map { ["path": "/v1/embeddings", "body": ["model": "small", "input": $0]] }))
        client.closeInput()
        // Killed once some requests were answered, with others in flight.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try first!.metric(#"embcache_texts_total{model="small",result="miss"}"#) == 0 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        first!.stop(SIGKILL)
        first = nil
        _ = client.finish()

        let verify = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        let second = try ServeProcess(flags, environment: Self.environment)
        let answer = try second.embed(["model": "small", "input": texts])
        #expect(answer.status == 200)
        let filter = try Self.filterRows(
            texts, ["--model", "small", "--config", config.path, "--cache-dir", TemporaryDirectory().path])
        #expect(answerRows(answer) == filter)
    }
}
