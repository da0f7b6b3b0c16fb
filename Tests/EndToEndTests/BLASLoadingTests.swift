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

    /// The library named by its path gives the vectors the default gives,
    /// on the kernels the default picked (named, it sees OPENBLAS_CORETYPE,
    /// which may be set where the suite runs).
    @Test func theNamedLibraryIsTheOneLoaded() throws {
        let model = try LocalTestModel.require()
        let listing = try runProcess("/sbin/ldconfig", ["-p"])
        let path = try #require(
            listing.stdoutLines.first { $0.contains("libopenblas.so.0 ") }?.components(separatedBy: " => ").last,
            "\(listing.stdoutText)")
        let input = "{\"text\":\"a blas of its own\"}\n"
        let plain = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path, "-v"],
            stdin: input)
        #expect(plain.status == 0, "\(plain.stderrText)")
        let kernels = try #require(Self.kernels(plain.stderrText), "\(plain.stderrText)")
        let named = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path, "-v"],
            stdin: input, environment: ["EMBCACHE_BLAS": path, "OPENBLAS_CORETYPE": kernels])
        #expect(named.status == 0, "\(named.stderrText)")
        #expect(named.stderrText.contains("embcache: local provider: \(path), \(kernels) kernels\n"))
        #expect(named.stdout == plain.stdout)
    }

    /// Issue 18: machines set OPENBLAS_CORETYPE to protect older OpenBLAS
    /// builds, and Debian's OpenBLAS then ran the encoder on an old CPU's
    /// kernels, at a third of its speed with Prescott's. The default
    /// library is loaded with the variable out of its sight; one named by
    /// EMBCACHE_BLAS sees it, which is how a core is forced.
    @Test func anOldCoreTypeInTheEnvironmentIsNotRun() throws {
        let model = try LocalTestModel.require()
        let input = "{\"text\":\"which kernels\"}\n"
        let arguments = ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path, "-v"]
        let plain = try Embcache.run(arguments, stdin: input, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(plain.status == 0, "\(plain.stderrText)")
        #expect(plain.stderrText.contains("embcache: local provider: libopenblas.so.0, "), "\(plain.stderrText)")
        let kernels = try #require(Self.kernels(plain.stderrText), "\(plain.stderrText)")
        #expect(kernels != "Prescott")
        let forced = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", TemporaryDirectory().path, "-v"],
            stdin: input, environment: ["OPENBLAS_CORETYPE": "Prescott", "EMBCACHE_BLAS": "libopenblas.so.0"])
        #expect(forced.status == 0, "\(forced.stderrText)")
        #expect(
            forced.stderrText.contains("embcache: local provider: libopenblas.so.0, Prescott kernels\n"),
            "\(forced.stderrText)")
        // Other kernels, the same vectors to float32 rounding.
        let a = try #require(parseJSONLines(plain.stdout).first?["embedding"] as? [Double])
        let b = try #require(parseJSONLines(forced.stdout).first?["embedding"] as? [Double])
        #expect(a.count == 384 && b.count == 384)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// OpenBLAS's name for its kernels from the --verbose line.
    static func kernels(_ stderr: String) -> String? {
        let line = stderr.split(separator: "\n").first { $0.hasPrefix("embcache: local provider: ") }
        guard let line, line.hasSuffix(" kernels"), let comma = line.lastIndex(of: ",") else { return nil }
        return String(line[line.index(comma, offsetBy: 2)...].dropLast(" kernels".count))
    }
}
