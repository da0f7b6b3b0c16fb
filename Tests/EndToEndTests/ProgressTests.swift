import Foundation
import Testing

/// stderr carries a live progress line only when it is a terminal.
@Suite struct ProgressTests {
    @Test func aTerminalGetsAProgressLineThatIsErasedAtTheEnd() throws {
        let cache = TemporaryDirectory()
        let input = cache.write("in.jsonl", corpus(40))
        let script = """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            child = subprocess.Popen(sys.argv[1:], stdin=open(os.environ["INPUT"]), stdout=subprocess.DEVNULL, stderr=slave)
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
        let result = try runProcess(
            "/usr/bin/env",
            [
                "python3", "-c", script, Embcache.binary, "--model", "fake", "--cache-dir", cache.path,
                "--command", fakeProvider("--delay 0.1"), "--batch-size", "4", "--max-requests", "1",
            ],
            environment: ["INPUT": input.path])
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.last == "0", "\(result.stdoutText) \(result.stderrText)")
        let seen = String(lines.first ?? "")
        #expect(seen.contains("records/s"), "\(seen)")
        #expect(seen.contains("computed"))
        #expect(seen.hasSuffix(#"\r\x1b[K'"#), "the line is erased at the end: \(seen)")
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
