import Foundation
import Testing

/// Two identities whose names share a model file (SQLite) or table
/// (PostgreSQL), `Foo Bar` and `foo-bar`, each with its own provider,
/// started at the same moment on a new cache, many times over. The file is
/// claimed by one of them; the other must fail, and what the file holds
/// must be the claimant's vectors only. Before the claim was atomic, both
/// exited 0 in about 2 of 100 tries, and `foo-bar` was later served vectors
/// `Foo Bar`'s provider made.
@Suite struct IdentityRaceTests {
    /// The two providers differ by a scale, so a vector of the one served
    /// as the other's is visible without normalisation. Each try names a
    /// new pair, so that each finds its file or table unclaimed.
    static let providers = ["--scale 3", ""]
    static func models(_ attempt: Int) -> [String] { ["Foo Bar \(attempt)", "foo-bar-\(attempt)"] }
    static let tries = 40
    static let input = (0..<12).map { "{\"text\":\"colliding text \($0)\"}\n" }.joined()

    func run(_ model: String, _ place: [String], provider: String?) throws -> RunningProcess {
        let computing = provider.map { ["--command", fakeProvider("--dim 8 " + $0)] } ?? ["--offline"]
        return try RunningProcess(
            Embcache.binary,
            ["--model", model, "--format", "f32", "--no-normalize", "-q", "--batch-size", "3"] + place + computing)
    }

    /// What each model's own provider gives, on a cache of its own.
    func expected() throws -> [Data] {
        let vectors = try Self.providers.map { flags in
            let own = TemporaryDirectory()
            let process = try run("m", ["--cache-dir", own.path], provider: flags)
            process.feed(Data(Self.input.utf8))
            let result = process.finish()
            try #require(result.status == 0, "\(result.stderrText)")
            return result.stdout
        }
        #expect(vectors[0] != vectors[1])
        return vectors
    }

    func race(_ place: (Int) throws -> [String]) throws {
        let expected = try expected()
        var bothSucceeded = 0
        for attempt in 0..<Self.tries {
            let where_ = try place(attempt)
            let models = Self.models(attempt)
            let processes = try zip(models, Self.providers).map { try run($0.0, where_, provider: $0.1) }
            for process in processes { process.feed(Data(Self.input.utf8)) }
            let results = processes.map { $0.finish(within: 60) }
            var winners = 0
            for (index, (result, hung)) in results.enumerated() {
                let model = models[index]
                #expect(!hung, "try \(attempt): \(model) hung")
                if result.status == 0 {
                    winners += 1
                    #expect(result.stdout == expected[index], "try \(attempt): \(model) got another model's vectors")
                    // And later lookups serve what the file claims to hold.
                    let later = try run(model, where_, provider: nil)
                    later.feed(Data(Self.input.utf8))
                    let served = later.finish()
                    #expect(served.status == 0, "try \(attempt): \(served.stderrText)")
                    #expect(served.stdout == expected[index], "try \(attempt): \(model) served another model's vectors")
                } else {
                    #expect(result.status == 78, "try \(attempt): \(model): \(result.stderrText)")
                    #expect(result.stderrText.contains("holds vectors of model"), "\(result.stderrText)")
                }
            }
            #expect(winners >= 1, "try \(attempt): neither run claimed the cache")
            if winners == 2 { bothSucceeded += 1 }
        }
        #expect(bothSucceeded == 0, "\(bothSucceeded) of \(Self.tries) tries let both identities into one file")
    }

    @Test func collidingSQLiteRunsNeverShareAFile() throws {
        let work = TemporaryDirectory()
        try race { attempt in ["--cache-dir", work.path + "/cache-\(attempt)"] }
    }

    @Test(.enabled(if: TestDatabase.available, "needs the PostgreSQL server of Scripts/test"))
    func collidingPostgresRunsNeverShareATable() throws {
        let db = try TestDatabase.fresh()
        // One database; each try a new pair of colliding names, so a new table.
        try race { _ in ["--db", db] }
    }
}
