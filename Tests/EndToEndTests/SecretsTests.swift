import Foundation
import Testing

/// Every error path run with a known fake API key in the environment and a
/// known database password (in the URL and in PGPASSWORD): neither appears
/// in stdout, stderr, or any file under the cache directory.
@Suite(.enabled(if: TestDatabase.available, "needs the PostgreSQL server of Scripts/test"))
struct SecretsTests {
    struct Path: CustomTestStringConvertible, Sendable {
        var name: String
        var status: Int32
        /// Arguments and stdin, given a cache directory, a server and a
        /// database URL (with its password).
        var run:
            @Sendable (_ cache: String, _ server: EmbeddingServer, _ db: String) -> (arguments: [String], stdin: String)
        var faults: [String] = []
        var testDescription: String { name }
    }

    static let paths: [Path] = [
        Path(
            name: "401 from the provider", status: 77,
            run: { cache, server, _ in
                (server.flags() + ["--cache-dir", cache], corpus(3))
            }, faults: ["status=401,times=9"]),
        Path(
            name: "provider gone after retries", status: 69,
            run: { cache, server, _ in
                (server.flags() + ["--cache-dir", cache, "--max-retries", "1"], corpus(3))
            }, faults: ["status=503,times=9"]),
        Path(
            name: "a refused text", status: 65,
            run: { cache, server, _ in
                (server.flags() + ["--cache-dir", cache, "--batch-size", "1"], corpus(3))
            }, faults: ["reject=text number 1 with some words"]),
        Path(
            name: "a malformed answer", status: 69,
            run: { cache, server, _ in
                (server.flags() + ["--cache-dir", cache, "--max-retries", "0"], corpus(3))
            }, faults: ["malformed,times=9"]),
        Path(
            name: "bad input line", status: 65,
            run: { cache, server, db in
                (server.flags() + ["--db", db], "{\"text\": 1}\n")
            }),
        Path(
            name: "vectors of another dimension than the database holds", status: 69,
            run: { _, _, db in
                (["--model", "m", "--db", db, "--command", fakeProvider("--dim 4")], corpus(5))
            }),
        Path(
            name: "wrong database password", status: 74,
            run: { _, server, db in
                (["stats", "--db", db.replacing(TestDatabase.password, with: TestDatabase.password + "x")], "")
            }),
        Path(
            name: "a database that does not exist", status: 74,
            run: { _, server, db in
                (server.flags() + ["--db", String(db[..<db.lastIndex(of: "/")!]) + "/no_such_db"], corpus(1))
            }),
        Path(
            name: "server unreachable", status: 74,
            run: { _, server, db in
                (["get", "--model", "m", "--db", db.replacing(/127\.0\.0\.1:[0-9]+/, with: "127.0.0.1:1")], corpus(1))
            }),
        Path(
            name: "copy to an unreachable server", status: 74,
            run: { cache, _, db in
                (["copy", "--from", cache, "--to", db.replacing(/127\.0\.0\.1:[0-9]+/, with: "127.0.0.1:1")], "")
            }),
        Path(
            name: "backup of a database", status: 78,
            run: { cache, _, db in
                (["backup", cache + "/copy", "--db", db], "")
            }),
        Path(
            name: "a miss with --offline", status: 65,
            run: { _, _, db in
                (["get", "--model", "hash-8", "--db", db], "{\"text\":\"never stored\"}\n")
            }),
    ]

    @Test(arguments: paths)
    func neitherTheKeyNorThePasswordIsShownOrStored(path: Path) throws {
        let server = try EmbeddingServer(api: "openai", faults: path.faults)
        let cache = TemporaryDirectory()
        let db = try TestDatabase.fresh()
        // A cache to copy from, and a hash-8 table in the database.
        try #require(try Embcache.run(["--model", "hash-8", "--cache-dir", cache.path], stdin: corpus(2)).status == 0)
        try #require(try Embcache.run(["--model", "hash-8", "--db", db], stdin: corpus(2)).status == 0)
        try #require(
            try Embcache.run(["--model", "m", "--db", db, "--command", fakeProvider()], stdin: corpus(2)).status == 0)

        let (arguments, stdin) = path.run(cache.path, server, db)
        var environment = server.environment
        environment["PGPASSWORD"] = TestDatabase.password
        environment["EMBCACHE_DB_RETRY_SECONDS"] = "0.5"
        let result = try Embcache.run(arguments, stdin: stdin, environment: environment)
        #expect(result.status == path.status, "\(result.stderrText)")
        #expect(result.stderrText.hasPrefix("embcache: "), "no message")
        for secret in [EmbeddingServer.key, TestDatabase.password] {
            #expect(!result.stdoutText.contains(secret))
            #expect(!result.stderrText.contains(secret))
            let files = FileManager.default.enumerator(atPath: cache.path)?.allObjects as? [String] ?? []
            for name in files {
                guard let bytes = FileManager.default.contents(atPath: cache.file(name).path) else { continue }
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(name) holds a secret")
            }
        }
        // Nor is either in the database.
        let stored = try TestDatabase.psql(
            db,
            """
            SELECT count(*) FROM (SELECT value AS v FROM embcache_metadata UNION ALL SELECT text FROM hashstring) s
            WHERE v LIKE '%\(TestDatabase.password)%' OR v LIKE '%\(EmbeddingServer.key)%'
            """)
        #expect(stored == ["0"])
    }
}

/// Regression: a key was redacted only where it appeared whole and
/// unescaped, and only in the server's message before embcache wrapped it.
/// A 400 that quoted the key's first and last characters printed them; a
/// key holding `"` or `\` came back escaped in the body's JSON and was
/// printed so; a list of details was printed as Swift describes an enum.
@Suite struct KeyRedactionTests {
    static let key = #"sk-"quoted\back-0123456789-SECRET-tail"#

    /// Every 8 characters in a row of the key, as it is and JSON-escaped.
    static var pieces: [String] {
        let escaped = key.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
        return [key, escaped].flatMap { form in
            let characters = Array(form)
            return (0...(characters.count - 8)).map { String(characters[$0..<($0 + 8)]) }
        }
    }

    @Test(arguments: [("openai", "OPENAI_API_KEY"), ("voyage", "VOYAGE_API_KEY")])
    func noEightCharactersOfAQuotedKeyArePrinted(api: String, variable: String) throws {
        let server = try EmbeddingServer(api: api, faults: ["echo_key,times=9"], key: Self.key)
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            server.flags() + ["--cache-dir", cache.path, "--batch-size", "1"], stdin: corpus(1),
            environment: [variable: Self.key])
        #expect(result.status == 65, "\(result.stderrText)")
        let message = result.stderrText
        #expect(message.hasPrefix("embcache: stdin:1: provider \(api) rejected the text: 400 Bad Request: "))
        #expect(message.contains("[redacted]"), "\(message)")
        for piece in Self.pieces {
            #expect(!message.contains(piece), "\(piece) of the key is in: \(message)")
        }
        #expect(!message.contains("JSONValue"), "\(message)")
        #expect(message.split(separator: "\n").count == 1, "\(message)")
        if api == "voyage" {
            // The detail list as JSON text.
            #expect(message.contains(#"[{"loc":["header","authorization"],"msg":"incorrect API key provided: "#))
        }
    }
}
