import Foundation
import Testing

/// OpenBLAS is loaded by the local provider when it starts, not linked:
/// linked, it started a spinning thread per core in every run.
@Suite struct BLASLoadingTests {
    static let missing = "/nonexistent/libcblas.so.0"

    @Test func theBinaryDoesNotLinkABLAS() throws {
        let libraries = try runProcess("/usr/bin/env", ["ldd", Embcache.binary])
        #expect(libraries.status == 0, "\(libraries.stderrText)")
        #expect(!libraries.stdoutText.contains("blas"), "\(libraries.stdoutText)")
    }

    /// A library that cannot be loaded is no matter to any other provider.
    @Test func otherProvidersNeverLoadIt() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-64", "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n",
            environment: ["EMBCACHE_BLAS": Self.missing])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(parseJSONLines(result.stdout).count == 1)
    }

    @Test func aLibraryThatCannotBeLoadedStopsTheLocalProvider() throws {
        let model = try LocalTestModel.require()
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n",
            environment: ["EMBCACHE_BLAS": Self.missing])
        #expect(result.status == 78, "\(result.stderrText)")
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderrText.hasPrefix("embcache: the local provider needs a BLAS library: \(Self.missing)"),
            "\(result.stderrText)")
        #expect(result.stderrText.contains("(named by EMBCACHE_BLAS)"), "\(result.stderrText)")
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(!files.contains { $0.hasPrefix("embedding-") }, "\(files)")
    }

    @Test func aLibraryWithoutCBLASIsRefused() throws {
        let model = try LocalTestModel.require()
        let result = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path],
            stdin: "{\"text\":\"a\"}\n", environment: ["EMBCACHE_BLAS": "libsqlite3.so.0"])
        #expect(result.status == 78, "\(result.stderrText)")
        #expect(
            result.stderrText
                == "embcache: the local provider needs cblas_sgemm, which libsqlite3.so.0 does not have\n",
            "\(result.stderrText)")
    }

    /// The library named by its path gives the vectors the default gives.
    @Test func theNamedLibraryIsTheOneLoaded() throws {
        let model = try LocalTestModel.require()
        let listing = try runProcess("/sbin/ldconfig", ["-p"])
        let path = try #require(
            listing.stdoutLines.first { $0.contains("libopenblas.so.0 ") }?.components(separatedBy: " => ").last,
            "\(listing.stdoutText)")
        let input = "{\"text\":\"a blas of its own\"}\n"
        let named = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path], stdin: input,
            environment: ["EMBCACHE_BLAS": path])
        let plain = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path], stdin: input)
        #expect(named.status == 0, "\(named.stderrText)")
        #expect(plain.status == 0, "\(plain.stderrText)")
        #expect(named.stdout == plain.stdout)
    }
}
