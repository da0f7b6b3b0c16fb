import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SplitMix64: a small seeded generator, so that a failing random case can
/// be replayed with `EMBCACHE_TEST_SEED=<seed> swift test --filter …`.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The seed of this test run: `$EMBCACHE_TEST_SEED`, else a new one.
    static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["EMBCACHE_TEST_SEED"], let seed = UInt64(text) {
            return seed
        }
        return UInt64.random(in: 0...UInt64.max)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fixtures/cache_check.py: checks a cache directory and outputs against
/// the fake provider's vectors through Python's sqlite3 and json.
enum CacheCheck {
    static let script = Embcache.fixtures.appendingPathComponent("cache_check.py").path

    struct CacheReport: Decodable {
        var problems: [String]
        var texts: Int
        var vectors: Int
        var committed: [String]
        var missing: [String]?
        var input_keys: [String]?
    }

    /// Replaces a share of the model file's vectors by bad blobs; returns
    /// the hex keys it damaged.
    static func corrupt(_ directory: String, file: String, dim: Int, share: Double, seed: UInt64) throws -> [String] {
        try run([
            "corrupt", directory, "--file", file, "--dim", String(dim), "--share", String(share), "--seed",
            String(seed),
        ])
    }

    struct RowsReport: Decodable {
        var problems: [String]
        var rows: Int
        var nulls: Int
    }

    struct LinesReport: Decodable {
        var problems: [String]
        var lines: Int
        var vectors: Int
        var nulls: Int
        /// The text of each line with a vector, as hex of its UTF-8.
        var texts: [String]
    }

    /// Integrity, no duplicates, every vector exactly its text's; with
    /// `input`, which of its texts have no vector yet.
    static func cache(_ directory: String, model: String, dim: Int, input: URL? = nil) throws -> CacheReport {
        var arguments = ["cache", directory, "--model", model, "--dim", String(dim)]
        if let input { arguments += ["--input", input.path] }
        return try run(arguments)
    }

    /// Output row i is the vector of input record i's text.
    static func rows(input: URL, output: URL, dim: Int, _ flags: [String] = []) throws -> RowsReport {
        try run(["rows", input.path, output.path, "--dim", String(dim)] + flags)
    }

    /// Each line of each output is a JSON object whose vector, if any, is
    /// that of its own text.
    static func lines(_ outputs: [URL], dim: Int) throws -> LinesReport {
        try run(["lines"] + outputs.map(\.path) + ["--dim", String(dim)])
    }

    private static func run<Report: Decodable>(_ arguments: [String]) throws -> Report {
        let result = try runProcess(pythonExecutable, [script] + arguments)
        guard result.status == 0 else {
            throw CheckFailure(
                "cache_check.py \(arguments.first ?? "") failed (\(result.status)): \(result.stderrText)")
        }
        return try JSONDecoder().decode(Report.self, from: result.stdout)
    }
}

struct CheckFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The hex keys a `--count` file of the fake provider lists, one per text
/// it embedded.
func countedKeys(_ url: URL) -> [String] {
    guard let data = try? Data(contentsOf: url) else { return [] }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// Runs `script` with `sh` in a mount namespace of its own (`unshare -m`),
/// so that what it mounts disappears with it, whatever happens to the test.
func inPrivateMountNamespace(_ script: String, environment: [String: String] = [:]) throws -> ProcessResult {
    try runProcess(
        "/usr/bin/env", ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        environment: environment)
}

enum Mounts {
    /// Whether this machine lets the tests mount a tmpfs in a private
    /// mount namespace (root with CAP_SYS_ADMIN, as CI and developers run).
    static let available: Bool = {
        let probe = TemporaryDirectory()
        let result = try? inPrivateMountNamespace(
            #"mount -t tmpfs -o size=64k tmpfs "$DIR" && mount -o remount,ro "$DIR""#, environment: ["DIR": probe.path])
        return result?.status == 0
    }()
}

/// Peak resident memory in KiB of `embcache arguments < input`, measured
/// by the kernel (getrusage of the waited child) in a Python wrapper.
func peakMemoryKiB(_ arguments: [String], input: URL) throws -> (status: Int32, kib: Int, stderr: String) {
    let code = """
        import resource, subprocess, sys
        with open(sys.argv[1], "rb") as source:
            status = subprocess.run(sys.argv[2:], stdin=source, stdout=subprocess.DEVNULL).returncode
        print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        """
    let result = try python(code, [input.path, Embcache.binary] + arguments)
    let fields = result.stdoutText.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    guard fields.count == 2, let status = fields[0], let kib = fields[1] else {
        throw CheckFailure("memory probe failed: \(result.stderrText)")
    }
    return (Int32(status), kib, result.stderrText)
}
