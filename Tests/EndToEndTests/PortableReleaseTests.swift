import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The release tarball Scripts/release made and the Debian root without
/// Swift that Scripts/debian-root made; Scripts/test makes both before the
/// tests and exports their paths. Their absence fails the tests that need
/// them, never skips them.
enum PortableRelease {
    static var tarball: URL? {
        if let path = ProcessInfo.processInfo.environment["EMBCACHE_TEST_RELEASE"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let dist = Embcache.packageRoot.appendingPathComponent("dist")
        let made = (try? FileManager.default.contentsOfDirectory(at: dist, includingPropertiesForKeys: nil)) ?? []
        return made.filter { $0.lastPathComponent.hasSuffix("-linux-\(machine).tar.gz") }
            .max { modified($0) < modified($1) }
    }

    static var debianRoot: URL? {
        if let path = ProcessInfo.processInfo.environment["EMBCACHE_TEST_DEBIAN_ROOT"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let tools = Embcache.packageRoot.appendingPathComponent(".build-tools")
        let made = (try? FileManager.default.contentsOfDirectory(at: tools, includingPropertiesForKeys: nil)) ?? []
        return made.first { $0.lastPathComponent.hasPrefix("debian-") && !$0.lastPathComponent.hasSuffix(".partial") }
    }

    static func requireTarball() throws -> URL {
        guard let tarball else {
            Issue.record("no release tarball: run Scripts/release (Scripts/test does) or set EMBCACHE_TEST_RELEASE")
            throw CancellationError()
        }
        return tarball
    }

    static func requireDebianRoot() throws -> URL {
        guard let debianRoot else {
            Issue.record("no Debian root: run Scripts/debian-root (Scripts/test does) or set EMBCACHE_TEST_DEBIAN_ROOT")
            throw CancellationError()
        }
        return debianRoot
    }

    /// `embcache-0.1.0-linux-x86_64` of `embcache-0.1.0-linux-x86_64.tar.gz`.
    static func name(_ tarball: URL) -> String {
        String(tarball.lastPathComponent.dropLast(".tar.gz".count))
    }

    /// `0.1.0` of `embcache-0.1.0-linux-x86_64.tar.gz`.
    static func version(_ tarball: URL) -> String {
        String(name(tarball).dropFirst("embcache-".count).dropLast("-linux-\(machine)".count))
    }

    static let machine: String = {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }()

    private static func modified(_ url: URL) -> Date {
        (try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
    }

    /// The tarball unpacked into `directory`: the path of its folder.
    static func unpack(_ tarball: URL, into directory: URL) throws -> URL {
        let result = try runProcess("/usr/bin/env", ["tar", "-xzf", tarball.path, "-C", directory.path])
        guard result.status == 0 else { throw CheckFailure("tar -xzf \(tarball.path): \(result.stderrText)") }
        return directory.appendingPathComponent(name(tarball))
    }
}

@Suite struct PortableReleaseTests {
    /// The checksum file verifies the tarball; the tarball holds the binaries,
    /// the man page, three completions and a README; the binaries need no
    /// library from the Swift toolchain; its version line names the commit.
    @Test func tarballHoldsTheBinaryAndItsFiles() throws {
        let tarball = try PortableRelease.requireTarball()
        let check = try runProcess(
            "/usr/bin/env",
            [
                "-C", tarball.deletingLastPathComponent().path, "sha256sum", "-c", "--strict",
                tarball.lastPathComponent + ".sha256",
            ])
        #expect(check.status == 0, "\(check.stdoutText)\(check.stderrText)")

        let listing = try runProcess("/usr/bin/env", ["tar", "-tzf", tarball.path])
        let name = PortableRelease.name(tarball)
        let files = Set(listing.stdoutLines.filter { !$0.hasSuffix("/") })
        for file in [
            "embcache", "embcache-serve", "embcache.1", "README", "completions/embcache.bash", "completions/_embcache",
            "completions/embcache.fish",
        ] {
            #expect(files.contains("\(name)/\(file)"), "\(file) missing from \(listing.stdoutText)")
        }

        let unpacked = TemporaryDirectory()
        let folder = try PortableRelease.unpack(tarball, into: unpacked.url)
        let manual = try Data(contentsOf: folder.appendingPathComponent("embcache.1"))
        #expect(manual == (try Data(contentsOf: Embcache.packageRoot.appendingPathComponent("man/embcache.1"))))

        let binary = folder.appendingPathComponent("embcache").path
        for executable in [binary, folder.appendingPathComponent("embcache-serve").path] {
            let libraries = try runProcess("/usr/bin/env", ["ldd", executable])
            #expect(libraries.status == 0, "\(libraries.stderrText)")
            let toolchain = libraries.stdoutLines.filter {
                $0.contains("not found") || $0.contains("swift") || $0.contains("Foundation")
                    || $0.contains("libdispatch") || $0.contains("BlocksRuntime")
            }
            #expect(toolchain.isEmpty, "\(executable): \(libraries.stdoutText)")
        }

        let version = try runProcess(binary, ["--version"])
        #expect(version.status == 0)
        let line = version.stdoutText
        #expect(line.hasPrefix("embcache \(PortableRelease.version(tarball)) (commit "), "\(line)")
        #expect(line.contains(", built 2"), "\(line)")
        #expect(!line.contains("development"), "\(line)")
    }

    /// A build that Scripts/release did not make says so, rather than
    /// naming a commit it cannot know.
    @Test func developmentBuildSaysSo() throws {
        let result = try Embcache.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdoutText.hasPrefix("embcache "), "\(result.stdoutText)")
        #expect(result.stdoutText.hasSuffix(" (development build)\n"), "\(result.stdoutText)")
    }

    /// The released binary, in a minimal Debian root with no Swift in it,
    /// gives what the development build gives here, byte for byte: the
    /// filter computing and then answering from the cache, `get`, the local
    /// provider with MiniLM, and `stats`.
    @Test(.enabled(if: getuid() == 0, "chroot needs root: run as root, as CI does, to run the release without Swift"))
    func runsInADebianRootWithoutSwiftAsTheBuildDoes() throws {
        let tarball = try PortableRelease.requireTarball()
        let root = try PortableRelease.requireDebianRoot()
        let model = try LocalTestModel.require()
        let noSwift = try runProcess(
            "/usr/bin/env", ["find", root.path, "-xdev", "(", "-name", "libswiftCore*", "-o", "-name", "swift", ")"])
        #expect(noSwift.status == 0 && noSwift.stdout.isEmpty, "the Debian root has Swift: \(noSwift.stdoutText)")

        // The same folder inside the root and here, reached by the same
        // relative paths from the folder a run starts in.
        let name = "embcache-release-test-\(UUID().uuidString)"
        let inside = root.appendingPathComponent("tmp/\(name)")
        let here = TemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: inside) }
        try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
        let release = try PortableRelease.unpack(tarball, into: inside).lastPathComponent
        for folder in [inside, here.url] {
            try FileManager.default.copyItem(
                at: Embcache.packageRoot.appendingPathComponent("examples/docs.jsonl"),
                to: folder.appendingPathComponent("docs.jsonl"))
            let copy = try runProcess(
                "/usr/bin/env", ["cp", "-R", "-L", model, folder.appendingPathComponent("model").path])
            #expect(copy.status == 0, "\(copy.stderrText)")
        }

        // OpenBLAS picks its kernels by these where they are set: both runs
        // alike, so that the local provider's sums are the same.
        let passed = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"].compactMap { key in
            ProcessInfo.processInfo.environment[key].map { "\(key)=\($0)" }
        }
        let environment = ["PATH=/usr/bin:/bin", "HOME=/nonexistent", "LC_ALL=C"] + passed
        // A machine has /proc, and the Swift runtime of a static binary
        // reads its arguments there: mounted in a mount namespace of the
        // run's own, gone with it.
        func released(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(
                "/usr/bin/unshare",
                [
                    "-m", "/bin/sh", "-c", #"mount -t proc proc "$0/proc" && exec /usr/sbin/chroot "$0" "$@""#,
                    root.path, "/usr/bin/env", "-i", "-C", "/tmp/\(name)",
                ] + environment + ["./\(release)/embcache"] + arguments)
        }
        func built(_ arguments: [String]) throws -> ProcessResult {
            try runProcess("/usr/bin/env", ["-i", "-C", here.path] + environment + [Embcache.binary] + arguments)
        }

        let version = try released(["--version"])
        #expect(version.status == 0, "\(version.stderrText)")
        #expect(version.stdoutText.hasPrefix("embcache \(PortableRelease.version(tarball)) (commit "))

        let runs: [[String]] = [
            ["--model", "hash-256", "--cache-dir", "cache", "docs.jsonl"],
            ["--model", "hash-256", "--cache-dir", "cache", "--format", "base64", "docs.jsonl"],
            ["get", "--model", "hash-256", "--cache-dir", "cache", "--format", "npy", "docs.jsonl"],
            ["--provider", "local", "--model-path", "model", "--cache-dir", "cache", "docs.jsonl"],
            ["get", "--model-path", "model", "--cache-dir", "cache", "--format", "f32", "docs.jsonl"],
            ["stats", "--cache-dir", "cache", "--bytes"],
            ["get", "--model", "hash-256", "--cache-dir", "cache", "--input", "lines", "missing.txt"],
            // embcache-serve, run from beside embcache.
            ["serve", "--help"],
            ["serve", "--listen", "0.0.0.0:0", "--cache-dir", "cache"],
        ]
        for arguments in runs {
            let want = try built(arguments)
            let got = try released(arguments)
            #expect(!want.stdout.isEmpty || want.status != 0, "\(arguments): \(want.stderrText)")
            #expect(got.status == want.status, "\(arguments): \(got.stderrText)")
            #expect(got.stdout == want.stdout, "\(arguments): stdout differs")
            #expect(got.stderrText == want.stderrText, "\(arguments)")
        }
    }
}
