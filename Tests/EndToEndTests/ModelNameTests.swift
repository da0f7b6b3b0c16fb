import Foundation
import Testing

/// A model name nothing knows gets an answer that names the closest known
/// ones: the built-in, the config file's names, the cache's identities.
@Suite struct ModelNameTests {
    @Test func aMisspeltModelNameIsAnsweredWithTheClosestKnownOnes() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        func run(_ arguments: [String]) throws -> ProcessResult {
            try Embcache.run(
                arguments + ["--cache-dir", cache], stdin: "{\"text\":\"a\"}\n",
                environment: ["XDG_CONFIG_HOME": work.path + "/xdg"])
        }
        try FileManager.default.createDirectory(
            atPath: work.path + "/xdg/embcache", withIntermediateDirectories: true)
        _ = work.write("xdg/embcache/config.toml", "[models.small]\nprovider = \"hash\"\nmodel = \"hash-8\"\n")
        try #require(try run(["-m", "hash-8", "-q"]).status == 0)

        let builtIn = try run(["-m", "hash256"])
        #expect(builtIn.status == 64)
        #expect(builtIn.stderrText.contains("closest known: \"hash-256\""), "\(builtIn.stderrText)")

        let get = try run(["get", "-m", "smal"])
        #expect(get.status == 78)
        #expect(get.stderrText.contains("no model \"smal\" is known"), "\(get.stderrText)")
        #expect(get.stderrText.contains("closest known: \"small\""), "\(get.stderrText)")
        #expect(get.stdout.isEmpty)
        // A known name with no vectors yet is no typo: its records are misses.
        let empty = try run(["get", "-m", "hash-16", "--on-error", "null", "-q"])
        #expect(empty.status == 0, "\(empty.stderrText)")

        let stats = try Embcache.run(
            ["stats", "--model", "hash8", "--cache-dir", cache], environment: ["XDG_CONFIG_HOME": work.path + "/xdg"])
        #expect(stats.status == 78)
        #expect(stats.stderrText.contains("closest known: \"hash-8\""), "\(stats.stderrText)")
        // stats resolves a config name as get does.
        let named = try Embcache.run(
            ["stats", "--model", "small", "--cache-dir", cache], environment: ["XDG_CONFIG_HOME": work.path + "/xdg"])
        #expect(named.status == 0, "\(named.stderrText)")
        #expect(named.stdoutText.contains("embedding-hash-8.sqlite"))
    }
}
