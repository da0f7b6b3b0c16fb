import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Off-site copies against real S3-compatible servers on 127.0.0.1
/// (rclone serve s3, and moto's server checking every signature): backup
/// while a writer runs, restore, a warm run; a bad checksum, an upload cut
/// off, transient server failures, refused credentials; what a backup may
/// delete; and a Litestream replica restored on a fresh directory.
@Suite(.enabled(if: S3Server.available, "needs rclone, moto and litestream from Scripts/test-tools"))
struct S3BackupTests {
    static let model = "hash-384"

    /// A cache of `records` texts of the built-in model (1.5 kB a vector).
    func filledCache(_ records: Int, prefix: String = "text") throws -> (TemporaryDirectory, String) {
        let cache = TemporaryDirectory()
        let input = corpus(records, prefix: prefix)
        let filled = try Embcache.run(["--model", Self.model, "--cache-dir", cache.path, "-q"], stdin: input)
        try #require(filled.status == 0, "\(filled.stderrText)")
        return (cache, input)
    }

    func embcache(_ arguments: [String], stdin: String = "", _ server: S3Server) throws -> ProcessResult {
        let result = try Embcache.run(arguments, stdin: stdin, environment: server.environment)
        #expect(!result.stdoutText.contains(server.secretKey))
        #expect(!result.stderrText.contains(server.secretKey))
        return result
    }

    /// A restored cache passes verify and answers every record of `input`
    /// from the cache alone; returns that warm run.
    func expectWhole(_ restored: TemporaryDirectory, answering input: String, records: Int) throws -> ProcessResult {
        let verify = try Embcache.run(["verify", "--cache-dir", restored.path])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderrText)")
        let warm = try Embcache.run(
            ["--model", Self.model, "--cache-dir", restored.path, "--offline", "-v"], stdin: input)
        #expect(warm.status == 0, "\(warm.stderrText)")
        #expect(warm.stderrText.contains("\(records) records, \(records) hits, 0 computed"))
        return warm
    }

    /// The keys under a prefix (a folder: `/` is added), relative to it,
    /// sorted.
    func objects(_ server: S3Server, under prefix: String) throws -> [String] {
        try server.keys(under: prefix + "/").map { String($0.dropFirst(prefix.count + 1)) }.sorted()
    }

    /// The manifest of the backup at `prefix`.
    func manifest(_ server: S3Server, at prefix: String) throws -> [String: Any] {
        let data = try #require(try server.read(prefix + "/manifest.json"), "no manifest at \(prefix)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(arguments: S3Server.Kind.allCases)
    func aBackupTakenWhileAWriterRunsRestoresIntoAWarmCache(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, input) = try filledCache(5000)
        // A writer goes on adding texts while the snapshot is taken.
        let writer = try RunningProcess(
            Embcache.binary, ["--model", Self.model, "--cache-dir", cache.path, "--window", "64"])
        writer.feed(Data(corpus(40000, prefix: "later").utf8))
        writer.closeInput()
        writer.pump(seconds: 0.3)
        let backup = try embcache(
            ["backup", "s3://\(S3Server.bucket)/team/cache", "--cache-dir", cache.path, "--part-size", "5"], server)
        #expect(backup.status == 0, "\(backup.stderrText)")
        #expect(backup.stderrText.contains("backed up 2 files to s3://\(S3Server.bucket)/team/cache"))
        #expect(writer.finish().status == 0)

        let manifest = try manifest(server, at: "team/cache")
        let files = manifest["files"] as! [[String: Any]]
        let generation = try #require(manifest["generation"] as? String)
        #expect(
            try objects(server, under: "team/cache")
                == ["\(generation)/embedding-hash-384.sqlite", "\(generation)/hashstring.sqlite", "manifest.json"])
        #expect(files.map { $0["name"] as! String } == ["embedding-hash-384.sqlite", "hashstring.sqlite"])
        // The model file is over one part: it went up in parts.
        #expect((files[0]["bytes"] as! Int) > 5 << 20)
        #expect(files[0]["model"] as? String == Self.model)

        let restored = TemporaryDirectory()
        let restore = try embcache(
            ["restore", "s3://\(S3Server.bucket)/team/cache", "--cache-dir", restored.path], server)
        #expect(restore.status == 0, "\(restore.stderrText)")
        _ = try expectWhole(restored, answering: input, records: 5000)

        // A cache is not overwritten unless asked to.
        let again = try embcache(
            ["restore", "s3://\(S3Server.bucket)/team/cache", "--cache-dir", restored.path], server)
        #expect(again.status == 78)
        #expect(again.stderrText.contains("--force"))
        let forced = try embcache(
            ["restore", "s3://\(S3Server.bucket)/team/cache", "--cache-dir", restored.path, "--force", "-q"], server)
        #expect(forced.status == 0, "\(forced.stderrText)")
        #expect(forced.stderr.isEmpty)
    }

    @Test(arguments: S3Server.Kind.allCases)
    func aFileThatDoesNotMatchItsChecksumIsRefusedAndNothingIsRestored(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, _) = try filledCache(200)
        try #require(
            try embcache(["backup", "s3://\(S3Server.bucket)/b", "--cache-dir", cache.path], server).status == 0)
        let manifest = String(decoding: try #require(try server.read("b/manifest.json")), as: UTF8.self)
        let digest = try #require(manifest.firstMatch(of: /"sha256" : "([0-9a-f]{64})"/)?.1)
        try server.write(
            "b/manifest.json", Data(manifest.replacing(String(digest), with: String(repeating: "0", count: 64)).utf8))

        let restored = TemporaryDirectory()
        let restore = try embcache(["restore", "s3://\(S3Server.bucket)/b", "--cache-dir", restored.path], server)
        #expect(restore.status == 65)
        #expect(restore.stderrText.contains("does not match its SHA-256 in manifest.json: nothing restored"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: restored.path).isEmpty)
    }

    /// Starts a backup and kills it with SIGKILL once the server holds
    /// more than `already` files under the prefix: cut off halfway.
    func cutOffBackup(_ server: S3Server, cache: String, prefix: String, already: Int) throws {
        let backup = try RunningProcess(
            Embcache.binary, ["backup", "s3://\(S3Server.bucket)/\(prefix)", "--cache-dir", cache, "--part-size", "5"],
            environment: server.environment)
        let deadline = Date().addingTimeInterval(60)
        while server.storedFiles(under: prefix).count <= already && Date() < deadline {
            backup.pump(seconds: 0.002)
        }
        backup.signal(SIGKILL)
        let killed = backup.finish()
        try #require(killed.status == 128 + SIGKILL, "the backup ended before it was cut off: \(killed.stderrText)")
    }

    /// On rclone only: it is watched through rclone's folder, the one way
    /// fast enough to catch an upload under way.
    @Test func anUploadCutOffHalfwayIsNeverTakenForABackupNorCostsThePreviousOne() throws {
        let server = try S3Server(.rclone)
        let (cache, input) = try filledCache(12000)
        try cutOffBackup(server, cache: cache.path, prefix: "b", already: 0)
        #expect(!server.storedFiles(under: "b").contains("manifest.json"))
        let restore = try embcache(
            ["restore", "s3://\(S3Server.bucket)/b", "--cache-dir", TemporaryDirectory().path], server)
        #expect(restore.status == 65)
        #expect(restore.stderrText.contains("beside 1 files: a backup that did not finish"))
        let nothing = try embcache(
            ["restore", "s3://\(S3Server.bucket)/never", "--cache-dir", TemporaryDirectory().path], server)
        #expect(nothing.status == 65)
        #expect(nothing.stderrText.contains("no backup here"))

        // A complete backup, then one cut off over it: the first still
        // restores whole. A later complete one clears what both left.
        try #require(
            try embcache(["backup", "s3://\(S3Server.bucket)/b", "--cache-dir", cache.path, "-q"], server).status == 0)
        let complete = server.storedFiles(under: "b")
        #expect(complete.count == 3)
        try cutOffBackup(server, cache: cache.path, prefix: "b", already: complete.count)
        let restored = TemporaryDirectory()
        let previous = try embcache(["restore", "s3://\(S3Server.bucket)/b", "--cache-dir", restored.path], server)
        #expect(previous.status == 0, "\(previous.stderrText)")
        let warm = try Embcache.run(
            ["--model", Self.model, "--cache-dir", restored.path, "--offline", "-v"], stdin: input)
        #expect(warm.stderrText.contains("12000 records, 12000 hits, 0 computed"))
        let last = try embcache(["backup", "s3://\(S3Server.bucket)/b", "--cache-dir", cache.path, "-q"], server)
        try #require(last.status == 0)
        // What the cut-off backups left is of its own making: no warning.
        #expect(last.stderr.isEmpty, "\(last.stderrText)")
        let after = server.storedFiles(under: "b")
        #expect(after.count == 3)
        #expect(Set(after).isDisjoint(with: complete.filter { $0 != "manifest.json" }))
    }

    /// Issue 23: `restore --force` deleted a model file that the backup
    /// does not hold, with no copy kept.
    @Test(arguments: S3Server.Kind.allCases)
    func aForcedRestoreKeepsAModelFileTheBackupDoesNotHold(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, input) = try filledCache(300)
        try #require(
            try embcache(["backup", "s3://\(S3Server.bucket)/f", "--cache-dir", cache.path, "-q"], server).status == 0)
        // The directory holds another model, and texts the backup lacks.
        let target = TemporaryDirectory()
        let other = corpus(50, prefix: "other")
        try #require(try Embcache.run(["--model", "hash-8", "--cache-dir", target.path], stdin: other).status == 0)
        let kept = try Data(contentsOf: target.file("embedding-hash-8.sqlite"))
        let forced = try embcache(
            ["restore", "s3://\(S3Server.bucket)/f", "--cache-dir", target.path, "--force", "-q"], server)
        #expect(forced.status == 0, "\(forced.stderrText)")
        let files = try FileManager.default.contentsOfDirectory(atPath: target.path).sorted()
        #expect(files == ["embedding-hash-384.sqlite", "embedding-hash-8.sqlite", "hashstring.sqlite"])
        #expect(try Data(contentsOf: target.file("embedding-hash-8.sqlite")) == kept)
        let models = try Embcache.run(["models", "--cache-dir", target.path])
        #expect(models.stdoutText == "hash-384\t384\t300\nhash-8\t8\t50\n")
        let warm = try Embcache.run(
            ["--model", Self.model, "--cache-dir", target.path, "--offline", "-q"], stdin: input)
        #expect(warm.status == 0)
        // The kept model's vectors are still found, though their texts
        // went with the hashstring.sqlite the backup replaced.
        let keptWarm = try Embcache.run(
            ["--model", "hash-8", "--cache-dir", target.path, "--offline", "-v"], stdin: other)
        #expect(keptWarm.stderrText.contains("50 records, 50 hits, 0 computed"), "\(keptWarm.stderrText)")
    }

    /// A proxy in front of the server that fails some requests as told.
    final class FaultProxy {
        let port: String
        let log: String
        private let pid: pid_t
        private let work = TemporaryDirectory()

        init(_ server: S3Server, arguments: [String] = []) throws {
            let portFile = work.file("port").path
            log = work.file("proxy.log").path
            let script = Embcache.fixtures.appendingPathComponent("s3_fault_proxy.py").path
            pid = try spawnLogged(
                [pythonExecutable, script, "--upstream", String(server.port), "--port-file", portFile, "--log", log]
                    + arguments, log: work.file("proxy.out").path)
            var port = ""
            for _ in 0..<400 where port.isEmpty {
                port = (try? String(contentsOfFile: portFile, encoding: .utf8)) ?? ""
                Thread.sleep(forTimeInterval: 0.025)
            }
            self.port = port
        }

        deinit {
            kill(pid, SIGTERM)
            waitpid(pid, nil, 0)
        }

        var lines: [Substring] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") }
    }

    @Test(arguments: S3Server.Kind.allCases)
    func failedAndDroppedRequestsAreRetried(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let proxy = try FaultProxy(server)
        var environment = server.environment
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(proxy.port)"

        let (cache, input) = try filledCache(4000)
        let backup = try Embcache.run(
            ["backup", "s3://\(S3Server.bucket)/r", "--cache-dir", cache.path, "--part-size", "5"],
            environment: environment)
        #expect(backup.status == 0, "\(backup.stderrText)")
        let restored = TemporaryDirectory()
        let restore = try Embcache.run(
            ["restore", "s3://\(S3Server.bucket)/r", "--cache-dir", restored.path], environment: environment)
        #expect(restore.status == 0, "\(restore.stderrText)")
        let faults = proxy.lines
        for fault in ["503", "500", "drop"] { #expect(faults.contains { $0.hasSuffix(" " + fault) }, "no \(fault)") }
        let warm = try Embcache.run(
            ["--model", Self.model, "--cache-dir", restored.path, "--offline", "-q"], stdin: input)
        #expect(warm.status == 0, "\(warm.stderrText)")
    }

    @Test(arguments: S3Server.Kind.allCases)
    func wrongCredentialsStopAtOnceWithoutShowingTheSecret(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, _) = try filledCache(10)
        var environment = server.environment
        environment["AWS_SECRET_ACCESS_KEY"] = "wrong-" + server.secretKey
        let refused = try Embcache.run(
            ["backup", "s3://\(S3Server.bucket)/x", "--cache-dir", cache.path], environment: environment)
        #expect(refused.status == 77)
        #expect(refused.stderrText.contains("AWS_SECRET_ACCESS_KEY"))
        #expect(!refused.stderrText.contains(server.secretKey))
        let missing = try Embcache.run(["backup", "s3://\(S3Server.bucket)/x", "--cache-dir", cache.path])
        #expect(missing.status == 78)
        #expect(missing.stderrText.contains("AWS_ACCESS_KEY_ID"))
    }

    /// Issue 23: S3's 400 InvalidToken and ExpiredToken exited 74, as if
    /// the store had failed, instead of 77 for the credentials. moto
    /// answers InvalidToken to a session token beside a user's key; the
    /// proxy answers ExpiredToken in rclone's place, which ignores tokens.
    @Test(arguments: S3Server.Kind.allCases)
    func aRefusedSessionTokenIsACredentialFailureNamingAWS_SESSION_TOKEN(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, _) = try filledCache(10)
        let token = "FwoGZXIvYXdzEXAMPLETOKEN0123456789"
        var environment = server.environment
        environment["AWS_SESSION_TOKEN"] = token
        let proxy =
            kind == .rclone
            ? try FaultProxy(server, arguments: ["--fail-every", "1", "--faults", "400:ExpiredToken"]) : nil
        if let proxy { environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(proxy.port)" }
        for arguments in [
            ["backup", "s3://\(S3Server.bucket)/t", "--cache-dir", cache.path],
            ["restore", "s3://\(S3Server.bucket)/t", "--cache-dir", TemporaryDirectory().path],
        ] {
            let refused = try Embcache.run(arguments, environment: environment)
            #expect(refused.status == 77, "\(refused.stderrText)")
            #expect(refused.stderrText.contains(kind == .moto ? "InvalidToken" : "ExpiredToken"))
            #expect(refused.stderrText.contains("AWS_SESSION_TOKEN"))
            #expect(!refused.stderrText.contains(token))
            #expect(!refused.stderrText.contains(server.secretKey))
        }
    }

    /// Issue 23: the message for a bucket that does not exist named the
    /// key but not the bucket.
    @Test(arguments: S3Server.Kind.allCases)
    func aMissingBucketIsNamed(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, _) = try filledCache(10)
        for arguments in [
            ["backup", "s3://no-such-bucket/x", "--cache-dir", cache.path],
            ["restore", "s3://no-such-bucket/x", "--cache-dir", TemporaryDirectory().path],
        ] {
            let missing = try embcache(arguments, server)
            #expect(missing.status == 78, "\(missing.stderrText)")
            #expect(missing.stderrText.contains("bucket no-such-bucket does not exist"), "\(missing.stderrText)")
        }
    }

    /// Issue 23: cleanup deleted every other object under the prefix, and,
    /// through keys with dot segments that libcurl resolved, objects
    /// outside it and in another bucket. Decoys in and around the prefix,
    /// each checked to be on the server first; after two backups each is
    /// still there, whole, and only the first backup's generation is gone.
    @Test(arguments: S3Server.Kind.allCases)
    func aBackupDeletesOnlyGenerationsOfItsOwn(_ kind: S3Server.Kind) throws {
        let server = try S3Server(kind)
        let (cache, input) = try filledCache(200)
        // A complete backup kept under a child prefix.
        try #require(
            try embcache(["backup", "s3://\(S3Server.bucket)/shared/team-a", "--cache-dir", cache.path, "-q"], server)
                .status == 0)
        let teamA = try server.keys(under: "shared/team-a/")
        try #require(teamA.count == 3)
        var decoys: [(bucket: String, key: String)] = [
            (S3Server.bucket, "shared/data.csv"),
            (S3Server.bucket, "shared/notes/readme.txt"),
            // A generation's shape, but not a cache file; a cache file's
            // name, but not under a generation.
            (S3Server.bucket, "shared/20250101T000000Z-0badc0de/notes.txt"),
            (S3Server.bucket, "shared/backup-2025/hashstring.sqlite"),
            (S3Server.bucket, "shared/20250101T000000Z-0badc0de/sub/hashstring.sqlite"),
            // Beside the prefix, and in another bucket.
            (S3Server.bucket, "sharedx/20250101T000000Z-0badc0de/hashstring.sqlite"),
            (S3Server.bucket, "victim-root"),
            (S3Server.otherBucket, "precious"),
        ]
        // rclone keeps keys as paths, so it cannot hold these.
        if kind == .moto {
            decoys += [
                (S3Server.bucket, "shared/../victim-root"),
                (S3Server.bucket, "shared/../../\(S3Server.otherBucket)/precious"),
                (S3Server.bucket, "shared/20250101T000000Z-0badc0de/../../victim-root"),
                (S3Server.bucket, "shared/./data.csv"),
                // Listed first, so shown in the warning, with its control
                // character escaped (moto's routes take no newline).
                (S3Server.bucket, "shared/!\tdata"),
            ]
        }
        for decoy in decoys { try server.write(decoy.key, Data("decoy \(decoy.key)".utf8), bucket: decoy.bucket) }
        for bucket in [S3Server.bucket, S3Server.otherBucket] {
            let present = Set(try server.keys(bucket: bucket))
            for decoy in decoys where decoy.bucket == bucket {
                try #require(present.contains(decoy.key), "decoy \(decoy.key) is not on the server")
            }
        }

        let first = try embcache(["backup", "s3://\(S3Server.bucket)/shared", "--cache-dir", cache.path], server)
        #expect(first.status == 0, "\(first.stderrText)")
        let firstGeneration = try #require(try manifest(server, at: "shared")["generation"] as? String)
        let second = try embcache(["backup", "s3://\(S3Server.bucket)/shared", "--cache-dir", cache.path], server)
        #expect(second.status == 0, "\(second.stderrText)")
        let generation = try #require(try manifest(server, at: "shared")["generation"] as? String)
        let others = decoys.filter { $0.bucket == S3Server.bucket && $0.key.hasPrefix("shared/") }.count + teamA.count
        #expect(
            second.stderrText.contains(
                "s3://\(S3Server.bucket)/shared holds \(others) objects that are not this backup's: left as they are"),
            "\(second.stderrText)")
        if kind == .moto { #expect(second.stderrText.contains("(such as \"!\\tdata\")")) }
        #expect(!second.stderrText.contains("\t"))

        for decoy in decoys {
            #expect(
                try server.read(decoy.key, bucket: decoy.bucket) == Data("decoy \(decoy.key)".utf8),
                "decoy \(decoy.bucket)/\(decoy.key) did not survive")
        }
        #expect(try server.keys(under: "shared/team-a/") == teamA)
        #expect(try server.keys(under: "shared/\(firstGeneration)/").isEmpty)
        #expect(
            try server.keys(under: "shared/\(generation)/").sorted()
                == ["embedding-hash-384.sqlite", "hashstring.sqlite"].map { "shared/\(generation)/\($0)" })
        for prefix in ["shared", "shared/team-a"] {
            let restored = TemporaryDirectory()
            let restore = try embcache(
                ["restore", "s3://\(S3Server.bucket)/\(prefix)", "--cache-dir", restored.path], server)
            #expect(restore.status == 0, "\(restore.stderrText)")
            _ = try expectWhole(restored, answering: input, records: 200)
        }
        if kind == .moto {
            // Every DELETE went to a key of the first generation. (moto's
            // log colours the method of an answer other than 200.)
            let deletes = server.log.split(separator: "\n").filter { $0.contains("DELETE /") }
            #expect(deletes.count == 2)
            for line in deletes {
                #expect(line.contains("DELETE /\(S3Server.bucket)/shared/\(firstGeneration)/"), "\(line)")
            }
        }
    }

    /// Issue 23: a key goes on the wire as written, each byte but the
    /// unreserved ones and `/` percent-encoded, and no `.` or `..` segment
    /// resolved, in the request and in what is signed (moto checks the
    /// signature). On moto only: rclone keeps keys as paths.
    @Test func keysGoOnTheWireAsWrittenWithDotSegmentsAndEscapes() throws {
        let server = try S3Server(.moto)
        let (cache, input) = try filledCache(100)
        let prefix = "odd/../a b+c%/./ü"
        let backup = try embcache(["backup", "s3://\(S3Server.bucket)/\(prefix)", "--cache-dir", cache.path], server)
        #expect(backup.status == 0, "\(backup.stderrText)")
        let generation = try #require(try manifest(server, at: prefix)["generation"] as? String)
        #expect(
            try server.keys().sorted()
                == ["\(generation)/embedding-hash-384.sqlite", "\(generation)/hashstring.sqlite", "manifest.json"].map {
                    "\(prefix)/\($0)"
                })
        let restored = TemporaryDirectory()
        let restore = try embcache(
            ["restore", "s3://\(S3Server.bucket)/\(prefix)", "--cache-dir", restored.path], server)
        #expect(restore.status == 0, "\(restore.stderrText)")
        _ = try expectWhole(restored, answering: input, records: 100)
        // moto's log shows the path decoded, but with its segments as sent.
        #expect(server.log.contains("PUT /\(S3Server.bucket)/odd/../a"))
        #expect(server.log.contains("/./ü/manifest.json HTTP/1.1\" 200"))
    }

    @Test func aLitestreamReplicaRestoredOnAFreshDirectoryIsAWarmCache() throws {
        let server = try S3Server(.rclone)
        let litestream = try #require(S3Server.litestream)
        let cache = TemporaryDirectory()
        // The files exist before Litestream starts watching them.
        try #require(
            try Embcache.run(["--model", Self.model, "--cache-dir", cache.path], stdin: corpus(1)).status == 0)
        let config = cache.path + "/../litestream-\(UUID()).yml"
        var yaml = "dbs:\n"
        for name in ["hashstring.sqlite", "embedding-hash-384.sqlite"] {
            yaml += """
                  - path: \(cache.path)/\(name)
                    replica:
                      type: s3
                      bucket: \(S3Server.bucket)
                      path: litestream/\(name)
                      endpoint: \(server.endpoint)
                      region: us-east-1
                      force-path-style: true
                      sync-interval: 100ms

                """
        }
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        defer { unlink(config) }
        var environment = ProcessInfo.processInfo.environment.merging(server.environment) { $1 }
        environment.removeValue(forKey: "AWS_CA_BUNDLE")
        let replicate = try spawnLogged(
            [litestream, "replicate", "-config", config], log: cache.path + "/../litestream-\(UUID()).log",
            environment: environment)
        // A long run beside it, then gc (which must not fight Litestream's
        // checkpoints), then Litestream is stopped.
        let input = corpus(6000)
        let run = try Embcache.run(["--model", Self.model, "--cache-dir", cache.path, "--window", "256"], stdin: input)
        #expect(run.status == 0, "\(run.stderrText)")
        let gc = try Embcache.run(["gc", "--cache-dir", cache.path])
        #expect(gc.status == 0, "\(gc.stderrText)")
        Thread.sleep(forTimeInterval: 2)
        kill(replicate, SIGTERM)
        waitpid(replicate, nil, 0)

        let restored = TemporaryDirectory()
        for name in ["hashstring.sqlite", "embedding-hash-384.sqlite"] {
            let restore = try runProcess(
                litestream, ["restore", "-config", config, "-o", restored.path + "/" + name, cache.path + "/" + name],
                environment: ["AWS_CA_BUNDLE": ""].merging(server.environment) { $1 })
            try #require(restore.status == 0, "\(restore.stderrText)")
        }
        let warm = try expectWhole(restored, answering: input, records: 6000)
        #expect(warm.stdout == run.stdout)
    }
}
