import Foundation
import Testing

/// The HTTP providers against Fixtures/embedding_server.py, which speaks
/// each API's documented wire format on 127.0.0.1 and injects faults.
@Suite struct HTTPProviderTests {
    static let apis = ["openai", "azure", "ollama", "cohere", "voyage", "gemini", "tei"]

    /// Every API: the vectors the server made arrive bit for bit, in input
    /// order, with the key in that API's header; a re-run sends nothing.
    @Test(arguments: apis)
    func eachAPIDeliversTheServersVectorsAndARerunCostsNothing(_ api: String) throws {
        let server = try EmbeddingServer(api: api)
        let cache = TemporaryDirectory()
        let input = corpus(45)
        let arguments = server.flags() + ["--cache-dir", cache.path, "--no-normalize", "--batch-size", "10"]
        let first = try Embcache.run(arguments, stdin: input, environment: server.environment)
        #expect(first.status == 0, "\(first.stderrText)")
        let received = vectors(first.stdout)
        #expect(received.count == 45)
        let texts = (0..<45).map { "text number \($0) with some words" }
        let expected = try server.expectedVectors(texts, model: api == "azure" ? "test-deployment" : "test-model")
        #expect(received.map { $0.map(Float.init) } == expected)
        #expect(parseJSONLines(first.stdout).map { $0["id"] as? Int } == (0..<45).map { $0 })

        let requests = server.requests
        #expect(requests.count == 5)
        #expect(requests.allSatisfy { ($0["status"] as? Int) == 200 })
        let headers = requests.first?["headers"] as? [String: String] ?? [:]
        switch api {
        case "azure": #expect(headers["api-key"] == EmbeddingServer.key)
        case "gemini": #expect(headers["x-goog-api-key"] == EmbeddingServer.key)
        default: #expect(headers["authorization"] == "Bearer \(EmbeddingServer.key)")
        }

        let again = try Embcache.run(arguments, stdin: input, environment: server.environment)
        #expect(again.status == 0)
        #expect(again.stdout == first.stdout)
        #expect(server.requests.count == 5)
    }

    /// Parameters that change the vectors are part of the identity: each
    /// setting has its own cache file and never answers for another.
    @Test func dimensionsAndInputTypeEachGetTheirOwnCacheFile() throws {
        let server = try EmbeddingServer(api: "cohere")
        let cache = TemporaryDirectory()
        let base = server.flags(model: "embed-v4.0") + ["--cache-dir", cache.path]
        for extra in [[], ["--dimensions", "4"], ["--input-type", "search_query"], ["--dimensions", "4"]] {
            let result = try Embcache.run(base + extra, stdin: corpus(3), environment: server.environment)
            #expect(result.status == 0, "\(result.stderrText)")
        }
        // The last run repeated the second: answered from its cache.
        #expect(server.requests.count == 3)
        let models = try Embcache.run(["models", "--cache-dir", cache.path])
        #expect(
            Set(models.stdoutLines) == [
                "embed-v4.0?input_type=search_document\t8\t3",
                "embed-v4.0?dimensions=4&input_type=search_document\t4\t3",
                "embed-v4.0?input_type=search_query\t8\t3",
            ])
    }

    // MARK: - Faults the run recovers from

    struct Recoverable: CustomTestStringConvertible, Sendable {
        var fault: String
        var extraFlags: [String] = []
        var retries: Int
        var testDescription: String { fault }
    }

    static let recoverable: [Recoverable] = [
        Recoverable(fault: "status=429,retry_after_ms=50,times=2", retries: 2),
        Recoverable(fault: "status=429,retry_after=1", retries: 1),
        Recoverable(fault: "status=503,retry_after_date=1", retries: 1),
        Recoverable(fault: "status=500", retries: 1),
        Recoverable(fault: "status=502", retries: 1),
        Recoverable(fault: "status=503", retries: 1),
        Recoverable(fault: "status=504", retries: 1),
        Recoverable(fault: "status=408", retries: 1),
        Recoverable(fault: "status=409", retries: 1),
        Recoverable(fault: "status=400,should_retry=true", retries: 1),
        Recoverable(fault: "drop,after=1", retries: 1),
        Recoverable(fault: "slow=3", extraFlags: ["--timeout", "1"], retries: 1),
        Recoverable(fault: "shuffle,times=all", retries: 0),
        Recoverable(fault: "no_base64,times=all", retries: 0),
    ]

    /// A fault the API may throw at any client ends with the same output
    /// bytes as a clean run, after the retries `-v` reports.
    @Test(arguments: recoverable)
    func recoversWithTheSameOutputAsACleanRun(_ case_: Recoverable) throws {
        let clean = try EmbeddingServer(api: "openai")
        let faulty = try EmbeddingServer(api: "openai", faults: [case_.fault])
        let flags = ["--batch-size", "4", "--max-requests", "2", "-v"]
        let expected = try Embcache.run(
            clean.flags() + ["--cache-dir", TemporaryDirectory().path] + flags, stdin: corpus(12),
            environment: clean.environment)
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            faulty.flags() + ["--cache-dir", cache.path] + flags + case_.extraFlags, stdin: corpus(12),
            environment: faulty.environment)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdout == expected.stdout)
        let retries = case_.retries == 1 ? "1 retry" : "\(case_.retries) retries"
        #expect(result.stderrText.contains(", \(retries), "), "\(result.stderrText)")
        // Each retry is said as it comes, with the attempt and the wait.
        let notices = result.stderrText.split(separator: "\n").filter {
            $0.contains("; attempt ") && $0.hasPrefix("embcache: warning: openai: ")
        }
        #expect(notices.count == case_.retries, "\(result.stderrText)")
        #expect(!result.stderrText.contains(EmbeddingServer.key))
        try expectKeyNowhere(in: cache)
        if case_.fault.hasPrefix("no_base64") {
            // One refused base64 request, then floats for the rest of the run.
            let formats = faulty.requests.compactMap { ($0["body"] as? [String: Any])?["encoding_format"] as? String }
            #expect(formats.filter { $0 == "base64" }.count >= 1)
            #expect(formats.last == "float")
        }
    }

    // MARK: - Faults that stop the run

    struct Fatal: CustomTestStringConvertible, Sendable {
        var fault: String
        var flags: [String] = []
        var status: Int32
        /// A regular expression for the message after `embcache: `.
        var message: String
        var testDescription: String { fault }
    }

    static let fatal: [Fatal] = [
        Fatal(
            fault: "malformed,after=2", status: 69,
            message: #"provider openai: batch of 4 texts from stdin:9: answer \(200, \d+ bytes\) is not JSON"#),
        Fatal(
            fault: "few,after=2", status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: answered 3 vectors for a batch of 4 texts"),
        Fatal(
            fault: "wrongdim,after=2", status: 69,
            message:
                "provider openai: batch of 4 texts from stdin:9: vector 4 of the batch has 7 dimensions, expected 8"),
        Fatal(
            fault: "nan,after=2", status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: vector [0-9] of the batch holds NaN or infinity"),
        Fatal(
            fault: "status=503,after=2,times=all", flags: ["--max-retries", "2"], status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: 503 Service Unavailable.*gave up after 3 attempts"
        ),
        Fatal(
            fault: "status=429,retry_after=3600,after=2", status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: 429 Too Many Requests.*asks to wait 3600 s"),
        Fatal(
            fault: "status=503,retry_after=1,after=2,times=all", flags: ["--max-retry-wait", "1.5"], status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: 503 Service Unavailable.*--max-retry-wait"),
        Fatal(
            fault: "status=429,code=insufficient_quota,after=2", status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: 429 Too Many Requests.*out of quota; not retried"),
        Fatal(
            fault: "status=503,should_retry=false,after=2", status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: 503 Service Unavailable.*says not to retry"),
        Fatal(
            fault: "status=404,after=2", status: 69,
            message: "provider openai: batch of 4 texts from stdin:9: 404 Not Found"),
        Fatal(
            fault: "status=401,after=2", status: 77,
            message: #"provider openai: the key in \$OPENAI_API_KEY was refused \(401\)"#),
        Fatal(
            fault: "status=403,after=2", status: 77,
            message: #"provider openai: the key in \$OPENAI_API_KEY was refused \(403\)"#),
    ]

    /// A bad answer or a refusal is an error naming the provider and the
    /// batch, with its documented status; the batches answered before it
    /// are cached and nothing of the bad one is.
    @Test(arguments: fatal)
    func stopsWithAClearErrorAndKeepsEveryGoodVector(_ case_: Fatal) throws {
        let server = try EmbeddingServer(api: "openai", faults: [case_.fault])
        let cache = TemporaryDirectory()
        let flags = server.flags() + ["--cache-dir", cache.path, "--batch-size", "4", "--max-requests", "1"]
        let result = try Embcache.run(flags + case_.flags, stdin: corpus(12), environment: server.environment)
        #expect(result.status == case_.status)
        // The error is the last line; the retries' notices may come before it.
        let last = result.stderrText.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.firstMatch(of: try Regex("^embcache: " + case_.message)) != nil, "\(result.stderrText)")
        // The key stays out of every message and every file of the cache.
        #expect(!result.stderrText.contains(EmbeddingServer.key))
        #expect(!result.stdoutText.contains(EmbeddingServer.key))
        try expectKeyNowhere(in: cache)
        // The first two batches are cached: a clean run asks for the third only.
        let clean = try EmbeddingServer(api: "openai")
        let rerun = try Embcache.run(
            clean.flags() + ["--cache-dir", cache.path, "--batch-size", "4"], stdin: corpus(12),
            environment: clean.environment)
        #expect(rerun.status == 0, "\(rerun.stderrText)")
        #expect(clean.requests.map { $0["inputs"] as? Int } == [4])
    }

    @Test func anUnreachableProviderIsStatus69AfterItsRetries() throws {
        let closed = try EmbeddingServer(api: "openai")
        let base = closed.baseURL
        let port = closed.port
        _ = consume closed
        let result = try Embcache.run(
            [
                "--provider", "openai", "--model", "m", "--base-url", base, "--max-retries", "1",
                "--cache-dir", TemporaryDirectory().path,
            ],
            stdin: corpus(2))
        #expect(result.status == 69)
        #expect(result.stderrText.contains("cannot connect"), "\(result.stderrText) (port \(port))")
        #expect(result.stderrText.contains("gave up after 2 attempts"))
    }

    // MARK: - A text the provider refuses

    /// A 400 for one input does not sink its batch: the batch is split
    /// until the refused text stands alone, every other text is embedded
    /// and cached, and the refused record follows --on-error.
    @Test(arguments: ["skip", "null", "fail"])
    func aRefusedTextIsFoundByBisectionAndFollowsOnError(_ policy: String) throws {
        let bad = "text number 6 with some words"
        let server = try EmbeddingServer(api: "openai", faults: ["reject=\(bad)"])
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            server.flags() + ["--cache-dir", cache.path, "--batch-size", "8", "--on-error", policy], stdin: corpus(20),
            environment: server.environment)
        let lines = result.stdoutLines
        switch policy {
        case "skip":
            #expect(result.status == 0)
            #expect(lines.count == 19)
            #expect(result.stderrText.contains("stdin:7: provider openai rejected the text: 400 Bad Request"))
        case "null":
            #expect(result.status == 0)
            #expect(lines.count == 20)
            #expect(lines[6].hasSuffix(#""embedding":null}"#))
        default:
            #expect(result.status == 65)
            #expect(lines.count == 6)
            #expect(
                result.stderrText.hasPrefix("embcache: stdin:7: provider openai rejected the text: 400 Bad Request"),
                "\(result.stderrText)")
        }
        // Every other text is cached, the refused one is not.
        let clean = try EmbeddingServer(api: "openai")
        let rerun = try Embcache.run(
            clean.flags() + ["--cache-dir", cache.path, "--batch-size", "8"], stdin: corpus(20),
            environment: clean.environment)
        #expect(rerun.status == 0)
        #expect(clean.requests.map { $0["inputs"] as? Int } == [1])
    }

    /// The first texts of a run all refused: each half of a split is sent
    /// before either is split again, so the accepted texts count first and
    /// the refusals are taken for what they are, not for a wrong request.
    @Test func refusedTextsAtTheStartOfARunAreSkippedNotTakenForAWrongRequest() throws {
        let faults = (0..<3).map { "reject=text number \($0) with some words" }
        let server = try EmbeddingServer(api: "openai", faults: faults)
        let result = try Embcache.run(
            server.flags() + [
                "--cache-dir", TemporaryDirectory().path, "--batch-size", "8", "--max-requests", "1",
                "--on-error", "skip",
            ],
            stdin: corpus(20), environment: server.environment)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutLines.count == 17)
    }

    /// A provider that refuses every text refuses the request: the run
    /// stops after a few lone texts instead of splitting every batch.
    @Test func aRequestRefusedWhateverItHoldsStopsTheRun() throws {
        let server = try EmbeddingServer(api: "openai", faults: ["status=400,times=all"])
        let result = try Embcache.run(
            server.flags() + [
                "--cache-dir", TemporaryDirectory().path, "--batch-size", "64", "--max-requests", "1",
                "--on-error", "skip",
            ],
            stdin: corpus(200), environment: server.environment)
        #expect(result.status == 69)
        #expect(result.stderrText.contains("refused 3 texts one by one and accepted none"), "\(result.stderrText)")
        #expect(server.requests.count < 20)
    }

    // MARK: - Keys, proxies, pacing, order

    @Test func aMissingKeyIsAConfigurationErrorNamingTheVariable() throws {
        let result = try Embcache.run(
            ["--provider", "cohere", "--model", "embed-v4.0", "--cache-dir", TemporaryDirectory().path],
            stdin: corpus(1))
        #expect(result.status == 78)
        #expect(result.stderrText.contains("the cohere provider needs an API key: set CO_API_KEY"))
        let named = try Embcache.run(
            [
                "--provider", "cohere", "--model", "embed-v4.0", "--api-key-env", "MY_KEY", "--cache-dir",
                TemporaryDirectory().path,
            ],
            stdin: corpus(1))
        #expect(named.stderrText.contains("set MY_KEY"))
    }

    /// The key is sent and never shown: not in output, messages, the -v
    /// summary, nor anywhere in the cache's files.
    @Test func theKeyNeverLeavesTheRequest() throws {
        let server = try EmbeddingServer(api: "openai", faults: ["status=503", "reject=text number 2 with some words"])
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            server.flags() + ["--cache-dir", cache.path, "-v", "--on-error", "null", "--api-key-env", "SECRET_KEY"],
            stdin: corpus(5), environment: ["SECRET_KEY": EmbeddingServer.key])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(!result.stdoutText.contains(EmbeddingServer.key))
        #expect(!result.stderrText.contains(EmbeddingServer.key))
        try expectKeyNowhere(in: cache)
        let headers = server.requests.last?["headers"] as? [String: String]
        #expect(headers?["authorization"] == "Bearer \(EmbeddingServer.key)")
    }

    /// libcurl's proxy variables are honoured, and NO_PROXY exempts hosts.
    @Test func proxyVariablesAreHonoured() throws {
        let proxy = try EmbeddingServer(api: "openai")
        // Nothing listens on the base URL's port: only the proxy can answer.
        let unused = try EmbeddingServer(api: "openai")
        let base = unused.baseURL
        _ = consume unused
        let flags = [
            "--provider", "openai", "--model", "test-model", "--base-url", base, "--max-retries", "0",
            "--cache-dir", TemporaryDirectory().path,
        ]
        var environment = proxy.environment
        environment["http_proxy"] = "http://127.0.0.1:\(proxy.port)"
        let through = try Embcache.run(flags, stdin: corpus(2), environment: environment)
        #expect(through.status == 0, "\(through.stderrText)")
        #expect(proxy.requests.first?["absolute_form"] as? Bool == true)

        environment["NO_PROXY"] = "127.0.0.1"
        let direct = try Embcache.run(flags, stdin: corpus(3), environment: environment)
        #expect(direct.status == 69)
        #expect(proxy.requests.count == 1)
    }

    /// --rpm spaces requests out; -v says how long it waited for that.
    @Test func pacingWaitsAndSaysSo() throws {
        let server = try EmbeddingServer(api: "openai")
        let result = try Embcache.run(
            server.flags() + ["--cache-dir", TemporaryDirectory().path, "--batch-size", "1", "--rpm", "600", "-v"],
            stdin: corpus(4), environment: server.environment)
        #expect(result.status == 0)
        // Four requests at 0.1 s intervals: three waits of up to 0.1 s.
        let waited = result.stderrText.firstMatch(of: /([0-9.]+) s waited for rate limits/).flatMap {
            Double($0.1)
        }
        #expect((waited ?? 0) > 0.1, "\(result.stderrText)")
        #expect(result.stderrText.contains("4 requests, 0 retries"))

        // --tpm 600: each text of about 30 bytes is 8 tokens, 0.8 s of the
        // budget, so three of the four requests wait.
        let tokens = try Embcache.run(
            server.flags() + ["--cache-dir", TemporaryDirectory().path, "--batch-size", "1", "--tpm", "600", "-v"],
            stdin: corpus(4), environment: server.environment)
        #expect(tokens.status == 0)
        let tokenWait = tokens.stderrText.firstMatch(of: /([0-9.]+) s waited for rate limits/).flatMap { Double($0.1) }
        #expect((tokenWait ?? 0) > 1.5, "\(tokens.stderrText)")
    }

    /// Many requests in flight, answered out of order by a slow server:
    /// the output keeps the input's order.
    @Test func manyRequestsInFlightKeepTheInputOrder() throws {
        let server = try EmbeddingServer(api: "tei", latency: 0.02)
        let clean = try Embcache.run(
            server.flags() + ["--cache-dir", TemporaryDirectory().path, "--batch-size", "3", "--max-requests", "1"],
            stdin: corpus(60), environment: server.environment)
        let parallel = try Embcache.run(
            server.flags() + ["--cache-dir", TemporaryDirectory().path, "--batch-size", "3", "--max-requests", "8"],
            stdin: corpus(60), environment: server.environment)
        #expect(parallel.status == 0)
        #expect(parallel.stdout == clean.stdout)
    }

    /// A parameter the API never sends would split the cache for identical
    /// vectors: refused, from a flag (64) or from the file (78).
    @Test func aParameterTheAPIDoesNotTakeIsRefused() throws {
        let flag = try Embcache.run(
            [
                "--provider", "openai", "--model", "m", "--input-type", "query", "--cache-dir",
                TemporaryDirectory().path,
            ],
            stdin: corpus(1), environment: ["OPENAI_API_KEY": "k"])
        #expect(flag.status == 64)
        #expect(
            flag.stderrText.contains("--input-type does not apply to the openai provider (it does to cohere, voyage)"))
        let home = TemporaryDirectory()
        let config = home.write("config.toml", "[models.c]\nprovider = \"cohere\"\ntask_type = \"CLUSTERING\"\n")
        let file = try Embcache.run(
            ["--model", "c", "--config", config.path, "--cache-dir", home.path], stdin: corpus(1),
            environment: ["CO_API_KEY": "k"])
        #expect(file.status == 78)
        #expect(
            file.stderrText.contains("models.c: task-type does not apply to the cohere provider"), "\(file.stderrText)")
    }

    /// A server that wants a key none was given for: 77, naming the variable.
    @Test func aServerThatWantsAKeyNamesTheVariable() throws {
        let server = try EmbeddingServer(api: "ollama")
        let result = try Embcache.run(
            server.flags() + ["--api-key-env", "OLLAMA_TEAM_KEY", "--cache-dir", TemporaryDirectory().path],
            stdin: corpus(1))
        #expect(result.status == 77)
        #expect(result.stderrText.contains("the server wants a key (401); set OLLAMA_TEAM_KEY"), "\(result.stderrText)")
    }

    // MARK: - The config file

    /// A named model in the config file: the Makefile says `--model small`;
    /// flags override the file; `models --available` lists the names.
    @Test func namedModelsFromTheConfigFile() throws {
        let server = try EmbeddingServer(api: "openai")
        let home = TemporaryDirectory()
        let config = home.write(
            "config.toml",
            """
            # models for the pipeline
            [models.small]
            provider = "openai"
            model = "text-embedding-3-small"
            base_url = "\(server.baseURL)"
            api_key_env = "TEAM_KEY"
            dimensions = 4
            batch_size = 2

            [models."tiny.local"]
            provider = "hash"
            model = "hash-16"
            """)
        let cache = TemporaryDirectory()
        let environment = ["TEAM_KEY": EmbeddingServer.key]
        let result = try Embcache.run(
            ["--model", "small", "--config", config.path, "--cache-dir", cache.path], stdin: corpus(5),
            environment: environment)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(vectors(result.stdout).allSatisfy { $0.count == 4 })
        #expect(server.requests.compactMap { $0["inputs"] as? Int }.sorted() == [1, 2, 2])
        #expect(
            server.requests.allSatisfy {
                ($0["body"] as? [String: Any])?["model"] as? String == "text-embedding-3-small"
            })

        // A flag wins over the file; $XDG_CONFIG_HOME/embcache/config.toml is the default file.
        try FileManager.default.createDirectory(at: home.file("embcache"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: config, to: home.file("embcache/config.toml"))
        var xdg = environment
        xdg["XDG_CONFIG_HOME"] = home.path
        let overridden = try Embcache.run(
            ["--model", "small", "--dimensions", "6", "--cache-dir", cache.path], stdin: corpus(1), environment: xdg)
        #expect(overridden.status == 0, "\(overridden.stderrText)")
        #expect(vectors(overridden.stdout).first?.count == 6)

        let available = try Embcache.run(["models", "--available", "--config", config.path])
        #expect(available.status == 0, "\(available.stderrText)")
        #expect(available.stdoutLines.contains { $0.hasPrefix("small\topenai\ttext-embedding-3-small?dimensions=4") })
        #expect(available.stdoutLines.contains { $0.hasPrefix("tiny.local\thash\thash-16") })
    }

    /// One entry that cannot work does not hide the others.
    @Test func modelsAvailableReportsABrokenEntryAndListsTheRest() throws {
        let home = TemporaryDirectory()
        let config = home.write(
            "config.toml",
            "[models.cloud]\nprovider = \"azure\"\n\n[models.local]\nmodel = \"hash-8\"\n")
        let result = try Embcache.run(["models", "--available", "--config", config.path])
        #expect(result.status == 78)
        #expect(result.stdoutLines == ["local\thash\thash-8"])
        #expect(result.stderrText.contains("models.cloud: the azure provider needs --base-url"), "\(result.stderrText)")
    }

    /// --command on the command line beats the provider the file names.
    @Test func aCommandFlagBeatsTheConfigFilesProvider() throws {
        let home = TemporaryDirectory()
        let config = home.write("config.toml", "[models.m]\nprovider = \"openai\"\n")
        let result = try Embcache.run(
            ["--model", "m", "--config", config.path, "--command", fakeProvider(), "--cache-dir", home.path],
            stdin: corpus(3))
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutLines.count == 3)
    }

    @Test func aBadConfigFileIsStatus78WithItsLine() throws {
        let home = TemporaryDirectory()
        let config = home.write("config.toml", "[models.small]\nprovider = \"openai\"\nbatch_size = \"big\"\n")
        let result = try Embcache.run(["--model", "small", "--config", config.path], stdin: corpus(1))
        #expect(result.status == 78)
        #expect(result.stderrText.contains("batch-size"), "\(result.stderrText)")
        let missing = try Embcache.run(["--model", "small", "--config", home.file("none.toml").path], stdin: corpus(1))
        #expect(missing.status == 78)
    }

    /// No file under the cache directory holds the key's bytes.
    func expectKeyNowhere(in cache: TemporaryDirectory) throws {
        let key = Data(EmbeddingServer.key.utf8)
        let files = FileManager.default.enumerator(atPath: cache.path)?.allObjects as? [String] ?? []
        for name in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: cache.file(name).path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            else { continue }
            let bytes = try Data(contentsOf: cache.file(name))
            #expect(bytes.range(of: key) == nil, "\(name) holds the key")
        }
    }
}
