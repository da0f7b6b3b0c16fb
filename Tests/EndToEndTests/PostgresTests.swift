import Foundation
import Testing

/// The shared cache on PostgreSQL, through the real binary against the
/// real server Scripts/test starts: the filter, concurrent workers, a
/// server restart, copy both ways, the subcommands, and the password kept
/// out of every output.
@Suite(.enabled(if: TestDatabase.available, "needs the PostgreSQL server of Scripts/test"))
struct PostgresTests {
    static let model = "team-model"

    func filter(_ db: String, _ input: String, count: URL? = nil, extra: [String] = []) throws -> ProcessResult {
        let counting = count.map { " --count \($0.path)" } ?? ""
        let result = try Embcache.run(
            ["--model", Self.model, "--db", db, "--command", fakeProvider("--dim 16" + counting)] + extra,
            stdin: input)
        TestDatabase.expectNoPassword(result)
        return result
    }

    /// Texts drawn from a small universe, so that inputs overlap and repeat.
    func overlapping(_ count: Int, of universe: Int, seed: Int) -> String {
        var random = SeededRandom(seed: UInt64(seed))
        return (0..<count).map { index in
            "{\"n\":\(index),\"text\":\"shared text \(Int.random(in: 0..<universe, using: &random)) é🦀\"}\n"
        }.joined()
    }

    @Test func theFilterGivesTheSameBytesAsOnSQLiteAndAReRunComputesNothing() throws {
        let work = TemporaryDirectory()
        let db = try TestDatabase.fresh()
        let input =
            overlapping(700, of: 400, seed: 1) + "{\"text\":\"" + String(repeating: "long ", count: 2000) + "\"}\n"
        let count = work.file("count")
        let first = try filter(db, input, count: count, extra: ["--window", "64", "--batch-size", "16"])
        try #require(first.status == 0, "\(first.stderrText)")
        let onSQLite = try Embcache.run(
            ["--model", Self.model, "--cache-dir", work.path + "/cache", "--command", fakeProvider("--dim 16")],
            stdin: input)
        #expect(first.stdout == onSQLite.stdout)
        let unique = Set(parseJSONLines(Data(input.utf8)).map { $0["text"] as! String }).count
        #expect(countLines(count) == unique)

        // $EMBCACHE_DB names the same cache: all hits, nothing computed.
        let again = try Embcache.run(
            ["--model", Self.model, "--command", fakeProvider("--dim 16 --count \(count.path)"), "-v"], stdin: input,
            environment: ["EMBCACHE_DB": db])
        #expect(again.status == 0)
        #expect(again.stdout == first.stdout)
        #expect(countLines(count) == unique)
        #expect(again.stderrText.contains("0 computed"))
        TestDatabase.expectNoPassword(again)
        #expect(try TestDatabase.psql(db, "SELECT count(*) FROM \"embedding-team-model\"") == ["\(unique)"])
        #expect(try TestDatabase.psql(db, "SELECT count(*) FROM hashstring") == ["\(unique)"])
    }

    @Test func fourWorkersOnOverlappingInputsLoseNothingAndDuplicateNothing() throws {
        let work = TemporaryDirectory()
        let inputs = (0..<4).map { overlapping(600, of: 900, seed: 10 + $0) }
        let unique = Set(inputs.flatMap { parseJSONLines(Data($0.utf8)).map { $0["text"] as! String } }).count
        let reference = try inputs.map { input in
            try Embcache.run(
                [
                    "--model", Self.model, "--cache-dir", work.path + "/reference", "--command",
                    fakeProvider("--dim 16"),
                ],
                stdin: input
            ).stdout
        }

        // At once: every worker succeeds with its own text's vectors.
        let db = try TestDatabase.fresh()
        let running = try inputs.enumerated().map { index, _ in
            try RunningProcess(
                Embcache.binary,
                [
                    "--model", Self.model, "--db", db, "--command", fakeProvider("--dim 16 --delay 0.01"),
                    "--batch-size", String(8 + index), "--window", "50",
                ])
        }
        for (process, input) in zip(running, inputs) { process.feed(Data(input.utf8)) }
        for process in running { process.closeInput() }
        for (index, process) in running.enumerated() {
            let result = process.finish()
            #expect(result.status == 0, "worker \(index): \(result.stderrText)")
            #expect(result.stdout == reference[index], "worker \(index)")
            TestDatabase.expectNoPassword(result)
        }
        #expect(
            try TestDatabase.psql(db, "SELECT count(*), count(DISTINCT hashid) FROM \"embedding-team-model\"") == [
                "\(unique)|\(unique)"
            ])
        #expect(try TestDatabase.psql(db, "SELECT count(*) FROM hashstring") == ["\(unique)"])

        // One after another: each text is computed exactly once in all.
        let sequential = try TestDatabase.fresh()
        let count = work.file("count")
        for (index, input) in inputs.enumerated() {
            let result = try filter(sequential, input, count: count)
            #expect(result.status == 0)
            #expect(result.stdout == reference[index])
        }
        #expect(countLines(count) == unique)
    }

    @Test func aServerRestartInTheMiddleOfARunIsSurvived() throws {
        // A server of its own: a restart must not disturb the other tests.
        let server = try PostgresServer()
        defer { server.stop() }
        let work = TemporaryDirectory()
        let input = corpus(400)
        let count = work.file("count")
        let running = try RunningProcess(
            Embcache.binary,
            [
                "--model", Self.model, "--db", server.url, "--command",
                fakeProvider("--dim 16 --delay 0.02 --count \(count.path)"), "--batch-size", "5", "--window", "20",
                "--max-requests", "1",
            ])
        running.feed(Data(input.utf8))
        running.closeInput()
        running.pump(seconds: 0.5)
        let restart = try runProcess(server.pgCtl, ["restart", "-m", "fast"])
        try #require(restart.status == 0, "\(restart.stderrText)")
        let result = running.finish()
        #expect(result.status == 0, "\(result.stderrText)")
        let reference = try Embcache.run(
            ["--model", Self.model, "--cache-dir", work.path + "/reference", "--command", fakeProvider("--dim 16")],
            stdin: input)
        #expect(result.stdout == reference.stdout)
        // It went on after the restart, and everything it computed is there.
        #expect(countLines(count) >= 400)
        #expect(try TestDatabase.psql(server.url, "SELECT count(*) FROM \"embedding-team-model\"") == ["400"])
        TestDatabase.expectNoPassword(result)
    }

    @Test func killNineMidRunLosesNothingCommittedAndTheReRunComputesOnlyTheRest() throws {
        let work = TemporaryDirectory()
        let db = try TestDatabase.fresh()
        let input = corpus(600) + "{\"text\":\"a NUL \\u0000 inside\"}\n"
        let count = work.file("count")
        var killedAfter: [Int] = []
        // 121 requests of 30 ms one at a time: 3.6 s in all, killed thrice
        // within the first 2.
        for delay in [0.3, 0.6, 0.9] {
            let running = try RunningProcess(
                Embcache.binary,
                [
                    "--model", Self.model, "--db", db, "--command",
                    fakeProvider("--dim 16 --delay 0.03 --count \(count.path)"), "--batch-size", "5", "--window", "20",
                    "--max-requests", "1",
                ])
            running.feed(Data(input.utf8))
            running.closeInput()
            running.pump(seconds: delay)
            running.signal(SIGKILL)
            let killed = running.finish()
            #expect(killed.status == 128 + SIGKILL)
            // A kill in start-up, on a slow machine, can come before the table.
            let exists = try TestDatabase.psql(
                db, "SELECT count(*) FROM pg_class WHERE relname = 'embedding-team-model'")
            killedAfter.append(
                exists == ["0"]
                    ? 0 : Int(try TestDatabase.psql(db, "SELECT count(*) FROM \"embedding-team-model\"")[0])!)
        }
        #expect(killedAfter.last! < 601, "the run ended before the last kill")
        try FileManager.default.removeItem(at: count)
        let rerun = try filter(db, input, count: count)
        #expect(rerun.status == 0, "\(rerun.stderrText)")
        // Exactly what was not committed is computed again.
        #expect(countLines(count) == 601 - killedAfter.last!)
        let reference = try Embcache.run(
            ["--model", Self.model, "--cache-dir", work.path + "/reference", "--command", fakeProvider("--dim 16")],
            stdin: input)
        #expect(rerun.stdout == reference.stdout)
        // The text with a NUL can't be a PostgreSQL text: its vector is
        // cached without it, and found again.
        #expect(try TestDatabase.psql(db, "SELECT count(*) FROM hashstring") == ["600"])
        let hits = try Embcache.run(["get", "--model", Self.model, "--db", db], stdin: input)
        #expect(hits.stdout == reference.stdout)
    }

    @Test func anUnreachableServerOrAWrongPasswordEndsWithStatus74AndNoPassword() throws {
        let url = try #require(TestDatabase.adminURL)
        let closedPort = try freePort()
        let unreachable = url.replacing(/127\.0\.0\.1:[0-9]+/, with: "127.0.0.1:\(closedPort)")
        let started = Date()
        let gone = try Embcache.run(
            ["--model", Self.model, "--db", unreachable, "--command", fakeProvider()], stdin: corpus(3),
            environment: ["EMBCACHE_DB_RETRY_SECONDS": "1"])
        #expect(gone.status == 74)
        #expect(gone.stderrText.contains("embcache: cache postgresql://embcache:***@127.0.0.1:\(closedPort)/"))
        #expect(gone.stderrText.contains("Connection refused"))
        #expect(Date().timeIntervalSince(started) < 20)
        TestDatabase.expectNoPassword(gone)

        let wrong = url.replacing(TestDatabase.password, with: "not-the-password")
        let refused = try Embcache.run(["stats", "--db", wrong])
        #expect(refused.status == 74)
        #expect(refused.stderrText.contains("password authentication failed"))
        #expect(!refused.stderrText.contains("not-the-password"))

        // The password given through PGPASSWORD instead is not shown either.
        let bare = url.replacing(":" + TestDatabase.password + "@", with: "@")
        let viaEnvironment = try Embcache.run(
            ["stats", "--db", bare + "?connect_timeout=bad"], environment: ["PGPASSWORD": TestDatabase.password])
        #expect(viaEnvironment.status != 0)
        TestDatabase.expectNoPassword(viaEnvironment)
        let fine = try Embcache.run(["stats", "--db", bare], environment: ["PGPASSWORD": TestDatabase.password])
        #expect(fine.status == 0, "\(fine.stderrText)")
        // sslmode works as in psql: this server has no TLS.
        let tls = try Embcache.run(["stats", "--db", url + "?sslmode=require"])
        #expect(tls.status == 74)
        #expect(tls.stderrText.contains("SSL"))
        TestDatabase.expectNoPassword(tls)
        let viaPGSSLMODE = try Embcache.run(["stats", "--db", url], environment: ["PGSSLMODE": "require"])
        #expect(viaPGSSLMODE.status == 74)
    }

    /// A run waiting for a server that refuses connections ends at the
    /// first SIGINT, not when EMBCACHE_DB_RETRY_SECONDS have passed.
    @Test func sigintEndsTheWaitForAnUnreachableServer() throws {
        let url = try #require(TestDatabase.adminURL)
        let closedPort = try freePort()
        let unreachable = url.replacing(/127\.0\.0\.1:[0-9]+/, with: "127.0.0.1:\(closedPort)")
        let running = try RunningProcess(
            Embcache.binary, ["--model", Self.model, "--db", unreachable, "--command", fakeProvider()],
            environment: ["EMBCACHE_DB_RETRY_SECONDS": "600"])
        running.feed(Data(corpus(3).utf8))
        running.pump(seconds: 1)
        let result = running.expectSIGINTEndsTheWait(for: "the server")
        TestDatabase.expectNoPassword(result)
    }

    @Test func aCopySQLiteToPostgresToSQLiteGivesBackTheSameVectors() throws {
        let work = TemporaryDirectory()
        let source = work.path + "/source"
        let input = corpus(300) + "{\"text\":\"ünïcödé 🦀 漢字\"}\n"
        for model in [Self.model, "other model"] {
            let filled = try Embcache.run(
                ["--model", model, "--cache-dir", source, "--command", fakeProvider("--dim 8")], stdin: input)
            try #require(filled.status == 0)
        }
        let db = try TestDatabase.fresh()
        let there = try Embcache.run(["copy", "--from", source, "--to", db])
        #expect(there.status == 0, "\(there.stderrText)")
        #expect(there.stderrText.contains("copied 602 vectors of 2 models, 0 already there, 0 skipped"))
        TestDatabase.expectNoPassword(there)
        // Again: idempotent, nothing to copy.
        let twice = try Embcache.run(["copy", "--from", source, "--to", db])
        #expect(twice.stderrText.contains("copied 0 vectors of 2 models, 602 already there"))

        let back = try Embcache.run(["copy", "--from", db, "--to", work.path + "/back", "--model", Self.model])
        #expect(back.status == 0, "\(back.stderrText)")
        TestDatabase.expectNoPassword(back)
        func exported(_ flags: [String]) throws -> [String] {
            let result = try Embcache.run(["export", "--model", Self.model, "--with-text"] + flags)
            try #require(result.status == 0, "\(result.stderrText)")
            return result.stdoutLines.sorted()
        }
        let original = try exported(["--cache-dir", source])
        #expect(original.count == 301)
        #expect(try exported(["--db", db]) == original)
        #expect(try exported(["--cache-dir", work.path + "/back"]) == original)
        let verified = try Embcache.run(["verify", "--cache-dir", work.path + "/back"])
        #expect(verified.status == 0, "\(verified.stdoutText)")
    }

    @Test func theSubcommandsWorkOnPostgres() throws {
        let work = TemporaryDirectory()
        let db = try TestDatabase.fresh()
        let input = corpus(50)
        try #require(try filter(db, input).status == 0)
        let other = try Embcache.run(
            ["--model", "gone", "--db", db, "--command", fakeProvider("--dim 16")], stdin: corpus(80))
        try #require(other.status == 0)
        var results: [ProcessResult] = []
        func run(_ arguments: [String], stdin: String = "") throws -> ProcessResult {
            let result = try Embcache.run(arguments, stdin: stdin)
            results.append(result)
            return result
        }

        let stats = try run(["stats", "--db", db, "--json"])
        #expect(stats.status == 0)
        let summary = try JSONSerialization.jsonObject(with: stats.stdout) as! [String: Any]
        #expect(summary["texts"] as? Int == 80)
        #expect((summary["directory"] as? String)?.contains("***") == true)
        #expect(try run(["models", "--db", db]).stdoutText == "gone\t16\t80\n\(Self.model)\t16\t50\n")

        let get = try run(["get", "--model", Self.model, "--db", db], stdin: input)
        #expect(get.status == 0)
        #expect(get.stdout == (try filter(db, input).stdout))
        let miss = try run(["get", "--model", Self.model, "--db", db], stdin: "{\"text\":\"never seen\"}\n")
        #expect(miss.status == 65)

        let exported = try run(["export", "--model", Self.model, "--db", db, "--with-text"])
        #expect(exported.stdoutLines.count == 50)
        let imported = try run(
            ["import", "--model", "imported", "--db", db], stdin: exported.stdoutText)
        #expect(imported.status == 0, "\(imported.stderrText)")
        #expect(imported.stderrText.contains("imported 50 vectors"))

        #expect(try run(["verify", "--db", db]).status == 0)
        // A vector of the wrong size is found, and repaired away.
        try TestDatabase.psql(
            db,
            "UPDATE \"embedding-imported\" SET embedding = '\\x00000000' WHERE hashid = (SELECT hashid FROM \"embedding-imported\" ORDER BY hashid LIMIT 1)"
        )
        let bad = try run(["verify", "--db", db])
        #expect(bad.status == 65)
        #expect(bad.stdoutText.contains("embedding-imported: hash "))
        #expect(try run(["verify", "--db", db, "--repair"]).status == 0)

        let removed = try run(["rm", "--model", "gone", "--db", db, "--yes"])
        #expect(removed.stderrText.contains("removed 80 vectors of gone"))
        let gc = try run(["gc", "--db", db])
        #expect(gc.stderrText.hasPrefix("embcache: deleted 30 texts no model uses"))
        #expect(try TestDatabase.psql(db, "SELECT count(*) FROM hashstring") == ["50"])

        let backup = try run(["backup", work.path + "/backup", "--db", db])
        #expect(backup.status == 78)
        #expect(backup.stderrText.contains("pg_dump"))
        for result in results { TestDatabase.expectNoPassword(result) }
        // Nor is it stored in the cache.
        #expect(
            try TestDatabase.psql(
                db,
                "SELECT count(*) FROM embcache_metadata WHERE value LIKE '%\(TestDatabase.password)%'") == ["0"])
    }

    @Test func aTeammateWhoMayNotCreateTablesUsesTheCacheOthersMade() throws {
        let db = try TestDatabase.fresh()
        try #require(try filter(db, corpus(20)).status == 0)
        let role = "teammate_" + UUID().uuidString.prefix(8).lowercased()
        try TestDatabase.psql(
            db,
            """
            CREATE ROLE \(role) LOGIN PASSWORD '\(TestDatabase.password)';
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO \(role);
            """)
        let asTeammate = db.replacing("//embcache:", with: "//\(role):")
        let run = try filter(asTeammate, corpus(40))
        #expect(run.status == 0, "\(run.stderrText)")
        #expect(try TestDatabase.psql(db, "SELECT count(*) FROM \"embedding-team-model\"") == ["40"])
        // A new model needs a new table, which only those who may create one get.
        let newModel = try Embcache.run(
            ["--model", "brand-new", "--db", asTeammate, "--command", fakeProvider()], stdin: corpus(2))
        #expect(newModel.status == 74)
        #expect(newModel.stderrText.contains("permission denied"))
        TestDatabase.expectNoPassword(newModel)
    }

    @Test func dbTakesOnlyAURL() throws {
        let notURL = try Embcache.run(["stats", "--db", "host=127.0.0.1 password=hunter2"])
        #expect(notURL.status == 64)
        #expect(!notURL.stderrText.contains("hunter2"))
        let fromEnvironment = try Embcache.run(["stats"], environment: ["EMBCACHE_DB": "postgresql//typo"])
        #expect(fromEnvironment.status == 64)
    }

    @Test func aTableOfALaterSchemaIsRefused() throws {
        let db = try TestDatabase.fresh()
        try #require(try filter(db, corpus(3)).status == 0)
        try TestDatabase.psql(db, "INSERT INTO embcache_schema (version, created_by) VALUES (2, 'a later embcache')")
        let refused = try filter(db, corpus(3))
        #expect(refused.status == 78)
        #expect(refused.stderrText.contains("schema version 2"))
    }
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once returned).
func freePort() throws -> Int {
    let result = try python("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    return try #require(Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
}

/// A PostgreSQL server of a test's own, from Scripts/postgres-server.
final class PostgresServer {
    let url: String
    let pgCtl: String
    let folder: String
    private static let script = Embcache.packageRoot.appendingPathComponent("Scripts/postgres-server").path

    /// `launcher` runs the script (e.g. inside a network namespace);
    /// `listen` are addresses to listen on besides 127.0.0.1.
    init(launcher: [String] = [], listen: [String] = []) throws {
        let words = launcher + [Self.script, "start"] + listen
        let started = try runProcess(words[0], Array(words.dropFirst()))
        try #require(started.status == 0, "\(started.stderrText)")
        var values: [String: String] = [:]
        for line in started.stdoutLines {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = String(line[..<equals]).replacing("export ", with: "")
            values[name] = String(line[line.index(after: equals)...]).trimmingCharacters(in: ["'"])
        }
        url = try #require(values["EMBCACHE_TEST_POSTGRES"])
        pgCtl = try #require(values["EMBCACHE_TEST_PG_CTL"])
        folder = try #require(values["EMBCACHE_TEST_PG_DIR"])
    }

    func stop() {
        _ = try? runProcess(Self.script, ["stop", folder])
    }
}
