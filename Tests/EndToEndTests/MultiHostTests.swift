import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The fleet recipe across machines: three hosts, each in a network
/// namespace of its own, reach one PostgreSQL server and one embedding API
/// over their own links; a worker per host fills the cache with its shard,
/// one is killed with SIGKILL and run again, and one `--offline` run
/// writes the corpus back.
@Suite(
    .enabled(
        if: TestNetwork.available,
        "needs root (CAP_NET_ADMIN) to make network namespaces with ip netns; CI runs as root"),
    .enabled(if: TestDatabase.available, "needs the PostgreSQL server of Scripts/test"))
struct MultiHostTests {
    static let model = "fleet-model"

    /// 1200 records over 900 texts.
    static let input: String = {
        var random = SeededRandom(seed: 31)
        return (0..<1200).map { index in
            "{\"n\":\(index),\"text\":\"fleet text \(Int.random(in: 0..<900, using: &random)) ü\"}\n"
        }.joined()
    }()

    /// Vectors for the texts of a range of requests the provider logged:
    /// how many times each text was computed.
    static func computed(_ requests: ArraySlice<[String: Any]>) -> [String: Int] {
        var counts: [String: Int] = [:]
        for request in requests {
            let body = request["body"] as? [String: Any]
            for text in body?["input"] as? [String] ?? [] { counts[text, default: 0] += 1 }
        }
        return counts
    }

    @Test func threeHostsFillOneCacheAndAKilledWorkerRecomputesOnlyWhatItHadNotCommitted() throws {
        let work = TemporaryDirectory()
        let corpus = work.write("corpus.jsonl", Self.input).path
        let network = try TestNetwork(hosts: 3)
        defer { network.remove() }
        let addresses = (1...3).map(network.serverAddress(forHost:))
        let postgres = try PostgresServer(launcher: network.inside(network.server), listen: addresses)
        defer { postgres.stop() }
        // 100 ms a request: the workers overlap, and the kill comes mid-shard.
        let provider = try EmbeddingServer(
            api: "openai", latency: 0.1, launcher: network.inside(network.server), host: "0.0.0.0")
        defer { withExtendedLifetime(provider) {} }

        func psql(_ url: String, _ sql: String) throws -> [String] {
            let result = try network.run(network.server, ["psql", url, "-X", "-q", "-A", "-t", "-c", sql])
            try #require(result.status == 0, "psql: \(result.stderrText)")
            return result.stdoutLines
        }
        _ = try psql(postgres.url, "CREATE DATABASE fleet")
        let local = String(postgres.url[..<postgres.url.lastIndex(of: "/")!]) + "/fleet"
        func worker(_ k: Int, _ extra: [String]) -> [String] {
            let url = local.replacing("127.0.0.1", with: addresses[k - 1])
            return [
                Embcache.binary, "--model", Self.model, "--provider", "openai", "--base-url",
                "http://\(addresses[k - 1]):\(provider.port)/v1", "--db", url, "--batch-size", "8", "--window", "16",
            ] + extra + [corpus]
        }
        func shardWorker(_ k: Int) -> [String] {
            // Host 2 runs one request at a time: it is still going when
            // the kill comes.
            worker(k, ["--shard", "\(k)/3", "--format", "none", "--max-requests", k == 2 ? "1" : "2"])
        }
        let hostsOfShard: (String) -> Int = { hex in Int(UInt64(hex.prefix(16), radix: 16)! % 3) + 1 }
        // The table is made by the first worker to write: none yet is none stored.
        func committed() throws -> [String] {
            let sql = "SELECT encode(hashid, 'hex') FROM \"embedding-\(Self.model)\""
            let result = try network.run(network.server, ["psql", local, "-X", "-q", "-A", "-t", "-c", sql])
            return result.status == 0 ? result.stdoutLines : []
        }

        let running = try (1...3).map { k in
            try network.start(network.hosts[k - 1], shardWorker(k), environment: provider.environment)
        }
        for process in running { process.closeInput() }
        // Host 2 is killed once 40 texts of its shard are committed.
        let deadline = Date().addingTimeInterval(60)
        var stored: [String] = []
        while Date() < deadline {
            stored = (try? committed().filter { hostsOfShard($0) == 2 }) ?? []
            if stored.count >= 40 { break }
            running[1].pump(seconds: 0.05)
        }
        running[1].signal(SIGKILL)
        let killed = running[1].finish()
        #expect(killed.status == 128 + SIGKILL, "\(killed.stderrText)")
        let atKill = Set(try committed())
        for k in [1, 3] {
            let result = running[k - 1].finish()
            #expect(result.status == 0, "host \(k): \(result.stderrText)")
            #expect(result.stdout.isEmpty)
        }
        // What the provider still had in flight for host 2 is logged by now.
        Thread.sleep(forTimeInterval: 0.5)
        let firstRound = provider.requests.count

        let rerun = try network.run(network.hosts[1], shardWorker(2), environment: provider.environment)
        #expect(rerun.status == 0, "\(rerun.stderrText)")
        #expect(rerun.stdout.isEmpty)
        let assembled = try network.run(network.hosts[0], worker(1, ["--offline"]))
        #expect(assembled.status == 0, "\(assembled.stderrText)")

        // The same corpus on one machine, with a provider of its own.
        let single = try EmbeddingServer(api: "openai")
        let reference = try Embcache.run(
            single.flags(model: Self.model) + ["--cache-dir", work.path + "/single", corpus],
            environment: single.environment)
        try #require(reference.status == 0, "\(reference.stderrText)")
        #expect(assembled.stdout == reference.stdout)
        #expect(assembled.stdout.count > Self.input.utf8.count)

        // Each text computed exactly once, but those host 2 had sent and not
        // committed when it was killed: once more, and only by its rerun.
        let keys = Dictionary(
            uniqueKeysWithValues: try psql(local, "SELECT encode(hashid, 'hex') || '|' || text FROM hashstring").map {
                line in
                let bar = line.firstIndex(of: "|")!
                return (String(line[line.index(after: bar)...]), String(line[..<bar]))
            })
        let texts = Set(parseJSONLines(Data(Self.input.utf8)).map { $0["text"] as! String })
        try #require(Set(keys.keys) == texts)
        let requests = provider.requests
        let before = Self.computed(requests[..<firstRound])
        let after = Self.computed(requests[firstRound...])
        let shard2 = texts.filter { hostsOfShard(keys[$0]!) == 2 }
        let committedByKilled = shard2.filter { atKill.contains(keys[$0]!) }
        try #require(!committedByKilled.isEmpty, "the kill came before host 2 committed anything")
        try #require(committedByKilled.count < shard2.count, "host 2 was done before the kill")
        for text in texts.subtracting(shard2) {
            #expect(before[text] == 1 && after[text] == nil, "\(text): \(before[text] ?? 0) + \(after[text] ?? 0)")
        }
        for text in committedByKilled {
            #expect(before[text] == 1 && after[text] == nil, "\(text) was committed, then computed again")
        }
        for text in shard2.subtracting(committedByKilled) {
            #expect(after[text] == 1, "\(text): the rerun computed it \(after[text] ?? 0) times")
            #expect((before[text] ?? 0) <= 1)
        }
        let recomputed = shard2.subtracting(committedByKilled).filter { before[$0] != nil }.count
        #expect(
            requests.map { (($0["body"] as? [String: Any])?["input"] as? [String])?.count ?? 0 }.reduce(0, +)
                == texts.count + recomputed)
        #expect(try psql(local, "SELECT count(*) FROM \"embedding-\(Self.model)\"") == ["\(texts.count)"])
    }
}
