import Foundation
import Testing

/// stderr carries a live progress line only when it is a terminal.
@Suite struct ProgressTests {
    /// What embcache wrote on a terminal as its stderr, as Python's repr of
    /// the bytes, and its exit status. Its stdin is the file `input`, or,
    /// with `pipe`, a pipe that the file is copied into.
    static func onTerminal(
        _ arguments: [String], input: URL, pipe: Bool = false, environment: [String: String] = [:]
    ) throws -> (seen: String, status: String) {
        let script = """
            import os, pty, shutil, subprocess, sys, threading
            master, slave = pty.openpty()
            source = open(os.environ["INPUT"], "rb")
            piped = os.environ.get("PIPE") == "1"
            child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE if piped else source,
                                     stdout=subprocess.DEVNULL, stderr=slave)
            if piped:
                def feed():
                    shutil.copyfileobj(source, child.stdin)
                    child.stdin.close()
                threading.Thread(target=feed).start()
            os.close(slave)
            seen = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            child.wait()
            sys.stdout.write(repr(seen) + "\\n" + str(child.returncode) + "\\n")
            """
        var environment = environment
        environment["INPUT"] = input.path
        environment["PIPE"] = pipe ? "1" : "0"
        let result = try runProcess(
            "/usr/bin/env", ["python3", "-c", script, Embcache.binary] + arguments, environment: environment)
        let lines = result.stdoutText.split(separator: "\n")
        return (String(lines.first ?? ""), String(lines.last ?? "") + result.stderrText)
    }

    static func slowRun(_ cache: TemporaryDirectory) -> [String] {
        [
            "--model", "fake", "--cache-dir", cache.path, "--command", fakeProvider("--delay 0.1"), "--batch-size",
            "4", "--max-requests", "1", "--window", "8",
        ]
    }

    @Test func aTerminalGetsAProgressLineThatIsErasedAtTheEnd() throws {
        let cache = TemporaryDirectory()
        let input = cache.write("in.jsonl", corpus(40))
        let (seen, status) = try Self.onTerminal(Self.slowRun(cache), input: input)
        #expect(status == "0", "\(seen) \(status)")
        #expect(seen.contains("records/s"), "\(seen)")
        #expect(seen.contains("computed"))
        #expect(seen.hasSuffix(#"\r\x1b[K'"#), "the line is erased at the end: \(seen)")
    }

    /// A regular file's size is known: the line says how far the run is
    /// and how long the rest will take. A pipe's is not.
    @Test func aFileInputGetsAPercentageAndTheTimeLeftAPipeDoesNot() throws {
        let cache = TemporaryDirectory()
        let input = cache.write("in.jsonl", corpus(40))
        let (seen, status) = try Self.onTerminal(Self.slowRun(cache), input: input)
        #expect(status == "0", "\(seen) \(status)")
        let percentages = ManPageTests.matches(#"embcache: (\d+)%, "#, in: seen).compactMap { Int($0[1]) }
        #expect(percentages.contains { $0 > 0 && $0 < 100 }, "\(seen)")
        #expect(percentages == percentages.sorted(), "\(seen)")
        #expect(!ManPageTests.matches(#"ETA (\d+m)?\d+s"#, in: seen).isEmpty, "\(seen)")

        let piped = try Self.onTerminal(Self.slowRun(TemporaryDirectory()), input: input, pipe: true)
        #expect(piped.status == "0", "\(piped.seen) \(piped.status)")
        #expect(piped.seen.contains("records/s"), "\(piped.seen)")
        #expect(!piped.seen.contains("%"), "\(piped.seen)")
        #expect(!piped.seen.contains("ETA"), "\(piped.seen)")
    }

    /// A request waiting to be retried, or paced by --rpm, shows on the
    /// line as a wait, not as a run that stopped.
    @Test func aWaitForARetryOrARateLimitIsShown() throws {
        let work = TemporaryDirectory()
        let input = work.write("in.jsonl", corpus(3))
        for (index, (faults, flags, expected)) in [
            (["status=503,retry_after=2"], [], #"retrying in [12]s"#),
            (["status=429,retry_after=2"], [], #"retrying in [12]s \(rate limited\)"#),
            ([], ["--rpm", "60", "--batch-size", "1"], #"waiting [12]s \(rate limited by --rpm/--tpm\)"#),
        ].enumerated() {
            let server = try EmbeddingServer(api: "openai", faults: faults)
            let (seen, status) = try Self.onTerminal(
                server.flags() + flags + ["--cache-dir", work.path + "/cache-\(index)"], input: input,
                environment: server.environment)
            #expect(status == "0", "\(seen) \(status)")
            #expect(!ManPageTests.matches(expected, in: seen).isEmpty, "\(expected): \(seen)")
        }
    }

    @Test func aPipeGetsNothingButErrors() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            [
                "--model", "fake", "--cache-dir", cache.path, "--command", fakeProvider("--delay 0.1"), "--batch-size",
                "4",
                "--max-requests", "1",
            ], stdin: corpus(12))
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
    }
}
