import Foundation
import Testing

/// Each HTTP API's official Python SDK (pinned in Scripts/test-tools) and
/// embcache embed the same texts against one recording server
/// (Fixtures/recording_server.py, driven for the SDKs by
/// Fixtures/sdk_embed.py). Their requests must agree in method, path, query,
/// headers (the key's among them, and the content type) and every JSON body
/// field, but for the differences `Allowed` lists, each with why it is
/// harmless. Then embcache is fed the exact bytes each SDK was answered and
/// must read the vectors the SDK read, float32 for float32. When a service
/// or its SDK moves (a pin raised), this is where it shows.
@Suite struct SDKConformanceTests {
    /// The python of the SDKs' own venv, from Scripts/test-tools.
    static let sdkPython = ProcessInfo.processInfo.environment["EMBCACHE_TEST_SDK_PYTHON"]
    static let sdkScript = Embcache.fixtures.appendingPathComponent("sdk_embed.py").path
    static let key = "sk-conformance-0123456789-SECRET"

    /// All distinct (embcache sends a repeated text once) and few enough
    /// for one request on both sides: non-ASCII within and beyond the BMP,
    /// a combining accent, U+2028 and U+2029, and what JSON escapes:
    /// quotes, backslash, slash, tab, newline and a control character.
    static let texts = [
        "plain ascii text",
        "héllo wörld — ✓ 日本語 😀 cafe\u{301}",
        "line\u{2028}separator\u{2029}paragraph",
        "tab\there \"quoted\" back\\slash /slash",
        "new\nline and a \u{1} control",
    ]

    /// One API as both sides are pointed at it.
    struct API: Sendable, CustomTestStringConvertible {
        var name: String
        /// What follows the server's root in the base URL, as sdk_embed.py
        /// has it.
        var basePath: String
        /// The header that carries the key, and how.
        var keyHeader: String
        var keyValue: String = "Bearer \(SDKConformanceTests.key)"
        /// Defaults first, then every parameter the API takes.
        var variants: [Variant]
        var testDescription: String { name }
    }

    /// One request made both ways: embcache's flags (beside --provider and
    /// --base-url), and the SDK's arguments as JSON: "model", and keyword
    /// arguments for its client ("client") and its embedding call ("call").
    struct Variant: Sendable {
        var flags: [String]
        var sdk: String
    }

    static let apis: [API] = [
        API(
            name: "openai", basePath: "/openai/v1", keyHeader: "authorization",
            variants: [
                Variant(flags: ["--model", "text-embedding-3-small"], sdk: #"{"model": "text-embedding-3-small"}"#),
                Variant(
                    flags: ["--model", "text-embedding-3-small", "--dimensions", "4"],
                    sdk: #"{"model": "text-embedding-3-small", "call": {"dimensions": 4}}"#),
            ]),
        // The SDK's model is the deployment; it must be told an API
        // version, and is told embcache's default.
        API(
            name: "azure", basePath: "/azure", keyHeader: "api-key", keyValue: key,
            variants: [
                Variant(
                    flags: ["--model", "my-embeddings"],
                    sdk: #"{"model": "my-embeddings", "client": {"api_version": "2024-10-21"}}"#),
                Variant(
                    flags: [
                        "--model", "text-embedding-3-large", "--deployment", "my-embeddings", "--api-version",
                        "2024-06-01", "--dimensions", "4",
                    ],
                    sdk: #"""
                        {"model": "my-embeddings", "client": {"api_version": "2024-06-01"}, "call": {"dimensions": 4}}
                        """#),
            ]),
        // The SDK must be given an input type: embcache's default.
        API(
            name: "cohere", basePath: "/cohere", keyHeader: "authorization",
            variants: [
                Variant(
                    flags: ["--model", "embed-v4.0"],
                    sdk: #"{"model": "embed-v4.0", "call": {"input_type": "search_document"}}"#),
                Variant(
                    flags: [
                        "--model", "embed-v4.0", "--input-type", "search_query", "--truncate", "end", "--dimensions",
                        "4",
                    ],
                    sdk: #"""
                        {"model": "embed-v4.0",
                         "call": {"input_type": "search_query", "truncate": "END", "output_dimension": 4}}
                        """#),
            ]),
        API(
            name: "voyage", basePath: "/voyage/v1", keyHeader: "authorization",
            variants: [
                Variant(flags: ["--model", "voyage-3.5"], sdk: #"{"model": "voyage-3.5"}"#),
                Variant(
                    flags: [
                        "--model", "voyage-3.5", "--input-type", "document", "--truncate", "false", "--dimensions", "4",
                    ],
                    sdk: #"""
                        {"model": "voyage-3.5",
                         "call": {"input_type": "document", "truncation": false, "output_dimension": 4}}
                        """#),
            ]),
        // The second spells the model as the API's resource and the task
        // type in lower case: embcache sends them as the SDK does.
        API(
            name: "gemini", basePath: "/gemini/v1beta", keyHeader: "x-goog-api-key", keyValue: key,
            variants: [
                Variant(flags: ["--model", "gemini-embedding-001"], sdk: #"{"model": "gemini-embedding-001"}"#),
                Variant(
                    flags: [
                        "--model", "models/gemini-embedding-001", "--task-type", "retrieval_query", "--dimensions", "4",
                    ],
                    sdk: #"""
                        {"model": "gemini-embedding-001",
                         "call": {"task_type": "RETRIEVAL_QUERY", "output_dimensionality": 4}}
                        """#),
            ]),
        API(
            name: "ollama", basePath: "/ollama", keyHeader: "authorization",
            variants: [
                Variant(flags: ["--model", "nomic-embed-text"], sdk: #"{"model": "nomic-embed-text"}"#),
                Variant(
                    flags: ["--model", "nomic-embed-text", "--truncate", "false", "--dimensions", "4"],
                    sdk: #"{"model": "nomic-embed-text", "call": {"truncate": false, "dimensions": 4}}"#),
            ]),
        // embcache stores the model's own vectors and normalises its output
        // itself, so it asks TEI not to (TEI's default is to): the SDK is
        // asked the same. TEI's model is the server's; the SDK sends none.
        API(
            name: "tei", basePath: "/tei", keyHeader: "authorization",
            variants: [
                Variant(
                    flags: ["--model", "bge-small-en-v1.5"],
                    sdk: #"{"model": "bge-small-en-v1.5", "call": {"normalize": false}}"#),
                Variant(
                    flags: ["--model", "bge-small-en-v1.5", "--truncate", "true"],
                    sdk: #"{"model": "bge-small-en-v1.5", "call": {"normalize": false, "truncate": true}}"#),
            ]),
    ]

    /// What may differ between the SDK's request and embcache's. Anything
    /// else fails the test.
    enum Allowed {
        /// Headers each client sets its own way (a name, or a prefix ending
        /// in "-").
        static let headers = [
            // Each client names itself; no service asks for a particular one.
            "user-agent",
            // SDKs say application/json or */*, embcache */*: every service
            // answers JSON whatever the client accepts.
            "accept",
            // Each HTTP stack offers the compressions it decodes (libcurl:
            // deflate, gzip, br, zstd); the server may use one or none.
            "accept-encoding",
            // Persistent connections are HTTP/1.1's default: libcurl keeps
            // them without saying so.
            "connection",
            // The same JSON with other spacing and escapes ("\u00e9" for
            // "é") has another length; each side states its own.
            "content-length",
            // The openai SDK's telemetry: language, OS, architecture,
            // runtime, retry count, read timeout. Optional.
            "x-stainless-",
            // The cohere SDK's telemetry (Fern generates the SDK). Optional.
            "x-fern-",
            // Google's client libraries' telemetry. Optional.
            "x-goog-api-client",
            // huggingface_hub's request id, for tracing a request through
            // Hugging Face's hosted endpoints; TEI ignores it.
            "x-amzn-trace-id",
        ]

        /// Paths that differ, per API: (SDK's, embcache's).
        static let paths = [
            // huggingface_hub posts to the server's root, which TEI routes
            // to /embed's handler when it serves an embedding model
            // (router/src/http/server.rs). /embed is that endpoint by its
            // own name, on every TEI whatever model it serves.
            "tei": (sdk: "/tei", embcache: "/tei/embed")
        ]

        /// Body fields only the SDK sends (a dotted path, "[]" for every
        /// element of an array) with the one value each may have; embcache
        /// never sends them.
        static let sdkOnlyFields: [(api: String, path: String, value: JSON)] = [
            // Azure's request has no model: the deployment in the URL's
            // path names it. The SDK sends one because it shares OpenAI's
            // request type, and Azure ignores it.
            ("azure", "model", .string("my-embeddings")),
            // A Content's role is optional and embedding ignores it; the
            // SDK sets it on every Content it makes.
            ("gemini", "requests.[].content.role", .string("user")),
            // The voyageai SDK writes every argument it has, null when not
            // given: null is the API's "not given", which embcache leaves
            // out (no input type; the model's default dimension; floats).
            ("voyage", "input_type", .null),
            ("voyage", "output_dimension", .null),
            ("voyage", "output_dtype", .null),
            // True is the API's default; embcache sends truncation only
            // when --truncate is given.
            ("voyage", "truncation", .bool(true)),
        ]

        static func header(_ name: String) -> Bool {
            headers.contains { $0.hasSuffix("-") ? name.hasPrefix($0) : name == $0 }
        }
    }

    /// Each API, both ways: the requests agree but for what `Allowed` says,
    /// and embcache reads the vectors the SDK read from the same answer,
    /// its own and the SDK's exact bytes replayed to it.
    @Test(arguments: apis)
    func embcacheSendsWhatTheOfficialSDKSendsAndReadsWhatItReads(_ api: API) throws {
        let python = try #require(
            Self.sdkPython, "EMBCACHE_TEST_SDK_PYTHON is not set: run Scripts/test (its Scripts/test-tools)")
        let server = try RecordingServer.shared.get()
        let run = UUID().uuidString.prefix(8)
        let sdkCases = api.variants.indices.map { "sdk-\(api.name)-\($0)-\(run)" }
        let sdkVectors = try Self.sdkEmbed(python, api, roots: sdkCases.map(server.root))
        try #require(sdkVectors.count == api.variants.count)

        for (index, variant) in api.variants.enumerated() {
            let what = "\(api.name) \(variant.flags.joined(separator: " "))"
            let expected = sdkVectors[index].joined().map(Float.init)
            try #require(sdkVectors[index].count == Self.texts.count, "\(what): the SDK read \(sdkVectors[index])")
            let sdkRequests = try server.requests(sdkCases[index])
            try #require(sdkRequests.count == 1, "\(what): the SDK sent \(sdkRequests.count) requests")
            // The SDK sent the texts scalar for scalar: embcache, sending the
            // same, does too.
            let sent = try JSON(parsing: sdkRequests[0].body).strings
            #expect(Self.texts.allSatisfy { sent.contains(.string($0)) }, "\(what): the SDK sent \(sent)")

            let ownCase = "embcache-\(api.name)-\(index)-\(run)"
            let own = try Self.embcache(api, variant, root: server.root(ownCase))
            let ownRequests = try server.requests(ownCase)
            try #require(ownRequests.count == 1, "\(what): embcache sent \(ownRequests.count) requests")
            let differences = Self.differences(api, sdk: sdkRequests[0], embcache: ownRequests[0])
            #expect(differences.isEmpty, "\(what):\n\(differences.joined(separator: "\n"))")
            #expect(
                own.map(\.bitPattern) == expected.map(\.bitPattern),
                "\(what): embcache read \(own), the SDK \(expected)")

            // The bytes the SDK parsed, to embcache, for the same request.
            let replayCase = "replay-\(sdkRequests[0].seq)"
            let replayed = try Self.embcache(api, variant, root: server.root(replayCase))
            #expect(
                replayed.map(\.bitPattern) == expected.map(\.bitPattern),
                "\(what): from the SDK's answer embcache read \(replayed), the SDK \(expected)")
            let replayBodies = try server.requests(replayCase).map { try JSON(parsing: $0.body) }
            let ownBody = try JSON(parsing: ownRequests[0].body)
            #expect(replayBodies == [ownBody], "\(what): the replayed answer was for another request")
        }
    }

    /// A new API fails here until the test knows its SDK.
    @Test func everyHTTPAPIHasItsSDKHere() throws {
        let result = try Embcache.run(["--provider", "none-such", "--model", "x"], stdin: "")
        #expect(result.status == 64)
        let known = try #require(result.stderrText.firstRange(of: "(known: "), "\(result.stderrText)")
        let names = result.stderrText[known.upperBound...].prefix { $0 != ")" }.split(separator: ", ").map(String.init)
        let notHTTP: Set = ["hash", "command", "local"]
        #expect(Set(names).subtracting(notHTTP) == Set(Self.apis.map(\.name)))
    }

    // MARK: - Both sides

    /// The vectors the SDK read for each variant, from one run of
    /// sdk_embed.py (Python's start costs a second or so).
    static func sdkEmbed(_ python: String, _ api: API, roots: [String]) throws -> [[[Double]]] {
        let calls = try zip(api.variants, roots).map { variant, root in
            var call = try #require(
                JSONSerialization.jsonObject(with: Data(variant.sdk.utf8)) as? [String: Any], "\(variant.sdk)")
            call["root"] = root
            call["texts"] = texts
            return call
        }
        let process = try RunningProcess(python, [sdkScript, api.name, key])
        process.feed(try JSONSerialization.data(withJSONObject: calls))
        let (result, hung) = process.finish(within: 120)
        try #require(!hung && result.status == 0, "sdk_embed.py \(api.name): \(result.stderrText)")
        return try JSONDecoder().decode([[[Double]]].self, from: result.stdout)
    }

    /// embcache's vectors for the texts, one after the other, from the
    /// float32 bytes `--format f32` writes, with a fresh cache and the base
    /// URL at `root`.
    static func embcache(_ api: API, _ variant: Variant, root: String) throws -> [Float] {
        let cache = TemporaryDirectory()
        let input = try texts.map {
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self) + "\n"
        }.joined()
        let result = try Embcache.run(
            ["--provider", api.name, "--base-url", root + api.basePath, "--cache-dir", cache.path]
                + ["--no-normalize", "--format", "f32"] + variant.flags,
            stdin: input, environment: EmbeddingServer.environment(api: api.name, key: key))
        try #require(result.status == 0, "embcache \(variant.flags): \(result.stderrText)")
        let bytes = Array(result.stdout)
        try #require(bytes.count % 4 == 0)
        return stride(from: 0, to: bytes.count, by: 4).map { at in
            Float(bitPattern: bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
        }
    }

    /// What differs between the two requests beyond what `Allowed` lets
    /// differ; empty when they agree.
    static func differences(
        _ api: API, sdk: RecordingServer.Request, embcache own: RecordingServer.Request
    ) -> [String] {
        var found: [String] = []
        func compare(_ what: String, _ theirs: String?, _ ours: String?) {
            if theirs != ours { found.append("\(what): SDK \(theirs ?? "none"), embcache \(ours ?? "none")") }
        }
        compare("method", sdk.method, own.method)
        let allowedPaths = Allowed.paths[api.name]
        if sdk.path != allowedPaths?.sdk || own.path != allowedPaths?.embcache { compare("path", sdk.path, own.path) }
        compare("query", sdk.query, own.query)
        // Both send the key, in the API's header (compared below).
        compare("the SDK's \(api.keyHeader)", sdk.headers[api.keyHeader], api.keyValue)
        for name in Set(sdk.headers.keys).union(own.headers.keys).sorted() where !Allowed.header(name) {
            compare("header \(name)", sdk.headers[name], own.headers[name])
        }
        do {
            var theirs = try JSON(parsing: sdk.body)
            for field in Allowed.sdkOnlyFields where field.api == api.name {
                theirs = theirs.removing(field.path.split(separator: ".")[...], ifEqualTo: field.value)
            }
            let ours = try JSON(parsing: own.body)
            if theirs != ours {
                found.append("body (allowed differences taken out):\nSDK      \(theirs)\nembcache \(ours)")
            }
        } catch {
            found.append("a body is not JSON: SDK \(sdk.body), embcache \(own.body)")
        }
        return found
    }
}

/// A JSON value, its strings compared scalar by scalar (Swift's == on
/// String takes "é" and "e\u{301}" for one), written with sorted keys.
enum JSON: Sendable, Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(parsing text: String) throws {
        self = try JSONDecoder().decode(JSON.self, from: Data(text.utf8))
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && x.allSatisfy { y[$0.key] == $0.value }
        default: false
        }
    }

    /// Every string in it, as `.string`s.
    var strings: [JSON] {
        switch self {
        case .string: [self]
        case .array(let items): items.flatMap(\.strings)
        case .object(let fields): fields.values.flatMap(\.strings)
        default: []
        }
    }

    /// Without the field at `path` ("[]": in every element) where it holds
    /// `value`.
    func removing(_ path: ArraySlice<Substring>, ifEqualTo value: JSON) -> JSON {
        guard let head = path.first else { return self }
        switch self {
        case .array(let items) where head == "[]":
            return .array(items.map { $0.removing(path.dropFirst(), ifEqualTo: value) })
        case .object(var fields):
            let key = String(head)
            if path.count == 1 {
                if fields[key] == value { fields[key] = nil }
            } else if let inner = fields[key] {
                fields[key] = inner.removing(path.dropFirst(), ifEqualTo: value)
            }
            return .object(fields)
        default:
            return self
        }
    }

    /// Non-ASCII and control characters as \u{…}, so that a difference in
    /// them shows.
    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value):
            "\""
                + value.unicodeScalars.map {
                    $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}"
                }.joined() + "\""
        case .array(let items): "[" + items.map(\.description).joined(separator: ",") + "]"
        case .object(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { "\(JSON.string($0.key)):\($0.value)" }.joined(separator: ",")
                + "}"
        }
    }
}
