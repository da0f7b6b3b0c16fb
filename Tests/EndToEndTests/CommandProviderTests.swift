import Foundation
import Testing

/// The command provider under every fault the fake provider can inject:
/// a clear message, status 69, and the vectors of every earlier window in
/// the cache, nothing from the bad answer.
@Suite struct CommandProviderTests {
    struct Fault: CustomTestStringConvertible, Sendable {
        var flags: String
        /// A regular expression for the message after `embcache: `.
        var message: String
        var testDescription: String { flags }
    }

    static let faults: [Fault] = [
        Fault(
            flags: "--die-after 2",
            message: "provider command: batch of 5 texts from stdin:[0-9]+: the command exited with status 3"),
        Fault(
            flags: "--garbage-after 2",
            message: "provider command: batch of 5 texts from stdin:[0-9]+: answer is not JSON"),
        Fault(
            flags: "--short-after 2",
            message: "provider command: batch of 5 texts from stdin:[0-9]+: answered 4 vectors for a batch of 5 texts"),
        Fault(
            flags: "--error-after 2",
            message: "provider command: batch of 5 texts from stdin:[0-9]+: the command reported: model exploded"),
        Fault(
            flags: "--wrong-dim-after 2",
            message:
                "provider command: batch of 5 texts from stdin:[0-9]+: vector 1 of the batch has 9 dimensions, expected 8"
        ),
        // The stale line reaches embcache before the next request (output
        // nobody asked for), with its answer (two lines for one request) or
        // before it (an answer to request 2 while 3 waits): whichever, an
        // error, never a shifted vector.
        Fault(
            flags: "--extra-line-after 1",
            message:
                "provider command: batch of 5 texts from stdin:[0-9]+: the command (wrote output that answers no request"
                + "|wrote more than one line for one request|answered request 2 while request 3 was waiting)"),
        Fault(
            flags: "--hang-after 2",
            message: #"provider command: batch of 5 texts from stdin:[0-9]+: no answer within 1 s \(see --timeout\)"#),
    ]

    @Test(arguments: faults)
    func faultStopsTheRunAndKeepsEarlierWindows(_ fault: Fault) throws {
        let cache = TemporaryDirectory()
        let count = cache.file("calls")
        let arguments = [
            "--model", "fake", "--cache-dir", cache.path, "--window", "5", "--batch-size", "5", "--timeout", "1",
            "--max-requests", "1",
        ]
        let result = try Embcache.run(
            arguments + ["--command", fakeProvider("--count \(count.path) \(fault.flags)")], stdin: corpus(20))
        #expect(
            // A child's own stderr (a traceback) may come first: it is ours.
            result.stderrText.firstMatch(of: try Regex("(?m)^embcache: " + fault.message)) != nil,
            "\(result.stderrText)")
        #expect(result.status == 69)
        #expect(result.stdoutLines.count == 10)
        // The two answered windows are cached; a clean re-run computes only the rest.
        let clean = cache.file("clean-calls")
        let rerun = try Embcache.run(
            arguments + ["--command", fakeProvider("--count \(clean.path)")], stdin: corpus(20))
        #expect(rerun.status == 0)
        #expect(countLines(clean) == 10)
    }

    /// Regression: one batch of another dimension in the middle of a window
    /// used to discard the whole window, good batches included, as an
    /// unusable cache (78).
    @Test func aBatchOfAnotherDimensionFailsAloneAndTheGoodBatchesAreKept() throws {
        let cache = TemporaryDirectory()
        let count = cache.file("calls")
        let arguments = [
            "--model", "fake", "--cache-dir", cache.path, "--window", "20", "--batch-size", "5", "--max-requests", "1",
        ]
        let result = try Embcache.run(
            arguments + ["--command", fakeProvider("--count \(count.path) --wrong-dim-after 2")], stdin: corpus(20))
        #expect(result.status == 69)
        let clean = cache.file("clean")
        _ = try Embcache.run(arguments + ["--command", fakeProvider("--count \(clean.path)")], stdin: corpus(20))
        #expect(countLines(clean) == 10)
    }

    /// Regression: squares summed in float32 overflowed for large values
    /// (every output 0) and vanished for tiny ones (not normalised).
    @Test(arguments: ["1e30", "1e-30"])
    func extremeVectorsAreNormalised(scale: String) throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "fake", "--cache-dir", cache.path, "--command", fakeProvider("--scale \(scale)")],
            stdin: corpus(3))
        #expect(result.status == 0, "\(result.stderrText)")
        for row in vectors(result.stdout) {
            #expect(abs(row.map { $0 * $0 }.reduce(0, +) - 1) < 1e-5)
        }
    }

    @Test func aChildThatDoesNotEchoTheRequestIDIsServedAsBefore() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "fake", "--cache-dir", cache.path, "--command", fakeProvider("--no-id"), "--batch-size", "3"],
            stdin: corpus(10))
        #expect(result.status == 0, "\(result.stderrText)")
        let reference = TemporaryDirectory()
        let withID = try Embcache.run(
            ["--model", "fake", "--cache-dir", reference.path, "--command", fakeProvider()], stdin: corpus(10))
        #expect(result.stdout == withID.stdout)
    }

    @Test func severalChildrenServeRequestsInFlightWithoutChangingTheOrder() throws {
        let cache = TemporaryDirectory()
        let serial = try Embcache.run(
            ["--model", "fake", "--command", fakeProvider(), "--cache-dir", cache.path, "--max-requests", "1"],
            stdin: corpus(200))
        let parallelCache = TemporaryDirectory()
        let parallel = try Embcache.run(
            [
                "--model", "fake", "--command", fakeProvider("--delay 0.02"), "--cache-dir", parallelCache.path,
                "--max-requests", "4", "--batch-size", "7",
            ], stdin: corpus(200))
        #expect(parallel.status == 0)
        #expect(parallel.stdout == serial.stdout)
    }

    @Test func aCommandThatCannotRunIsAProviderError() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "fake", "--command", "/nonexistent/model-server", "--cache-dir", cache.path],
            stdin: "{\"text\":\"a\"}\n")
        #expect(result.status == 69)
        #expect(result.stderrText.contains("the command exited with status 127"))
    }

    /// Regression: a child that exited while a process it started held its
    /// stdout open was noticed only at --timeout, as if it were thinking.
    @Test func aChildThatExitsWhileItsOwnChildHoldsThePipeFailsAtOnce() throws {
        let cache = TemporaryDirectory()
        // The grandchild's stderr is not ours: a test run against a binary
        // that never kills it must not wait for it to let go of the pipe.
        let running = try RunningProcess(
            Embcache.binary,
            [
                "--model", "fake", "--cache-dir", cache.path, "--timeout", "600", "--command",
                "sleep 60 2>/dev/null & exit 0",
            ])
        running.feed(Data(corpus(3).utf8))
        let (result, hung) = running.finish(within: 20)
        #expect(!hung, "still waiting for a child that exited")
        #expect(result.status == 69)
        #expect(result.stderrText.contains("the command exited with status 0"), "\(result.stderrText)")
    }

    /// Regression: the answer line was scanned for its newline from its
    /// start after every read, so reading it took time quadratic in its
    /// length (a gigabyte at 2.5 MB/s). Its bytes must still all arrive.
    @Test func aSixtyFourMegabyteAnswerLineIsReadWhole() throws {
        let work = TemporaryDirectory()
        let provider = work.write(
            "big.py",
            """
            import json, sys
            # JSON's own whitespace makes the line long without making it slow to parse.
            padding = " " * (64 << 20)
            for line in sys.stdin.buffer:
                request = json.loads(line)
                rows = [[float(len(t)), 1.0, 2.0] + [0.5] * 1021 for t in request["texts"]]
                answer = json.dumps({"id": request["id"], "embeddings": rows})
                sys.stdout.write(answer[:-1] + padding + "}\\n")
                sys.stdout.flush()
            """)
        let result = try Embcache.run(
            [
                "--model", "big", "--cache-dir", work.path, "--no-normalize", "--batch-size", "16", "--command",
                "\(pythonExecutable) \(provider.path)",
            ], stdin: corpus(32))
        #expect(result.status == 0, "\(result.stderrText)")
        let rows = vectors(result.stdout)
        #expect(rows.count == 32)
        for (index, row) in rows.enumerated() {
            let length = "text number \(index) with some words".count
            #expect(row == [Double(length), 1, 2] + [Double](repeating: 0.5, count: 1021))
        }
    }

    @Test func theExampleSentenceTransformersScriptSpeaksTheProtocol() throws {
        // The real library is not installed here: a stand-in module with its
        // API shape checks the script's request loop, order and error path.
        let work = TemporaryDirectory()
        try FileManager.default.createDirectory(
            at: work.file("sentence_transformers"), withIntermediateDirectories: true)
        _ = work.write(
            "sentence_transformers/__init__.py",
            """
            import numpy as np
            class SentenceTransformer:
                def __init__(self, name, device=None):
                    self.name = name
                def encode(self, texts, normalize_embeddings=False, convert_to_numpy=True):
                    if "boom" in texts:
                        raise ValueError("cannot embed")
                    return np.array([[float(len(t)), 1.0, 2.0] for t in texts], dtype=np.float32)
            """)
        let script = Embcache.packageRoot.appendingPathComponent("examples/sentence-transformers-provider.py").path
        let command = "PYTHONPATH=\(work.path) python3 \(script) some-model"
        let result = try Embcache.run(
            ["--model", "st", "--command", command, "--cache-dir", work.path, "--no-normalize"],
            stdin: "{\"text\":\"ab\"}\n{\"text\":\"abcd\"}\n")
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(vectors(result.stdout) == [[2, 1, 2], [4, 1, 2]])
        let failing = try Embcache.run(
            ["--model", "st", "--command", command, "--cache-dir", work.path], stdin: "{\"text\":\"boom\"}\n")
        #expect(failing.status == 69)
        #expect(failing.stderrText.contains("ValueError: cannot embed"))
    }
}

@Suite struct HashProviderTests {
    /// The hash embedder written again in Python from its documented
    /// definition gives the same float32 bytes: the man page and the code
    /// say the same thing, and no platform detail leaks into the vectors.
    @Test func vectorsMatchAnIndependentImplementationOfTheDefinition() throws {
        let cache = TemporaryDirectory()
        let input = try Data(contentsOf: Embcache.fixtures.appendingPathComponent("seed-cache/texts.jsonl"))
        for d in [7, 64, 384] {
            let ours = try Embcache.run(
                ["--model", "hash-\(d)", "--cache-dir", cache.path, "--format", "f32", "--no-normalize"], stdin: input)
            let script = Embcache.fixtures.appendingPathComponent("hash_embedder_reference.py").path
            let reference = try runProcess("/usr/bin/env", ["python3", script, String(d)], stdin: input)
            #expect(reference.status == 0, "\(reference.stderrText)")
            #expect(ours.stdout == reference.stdout, "hash-\(d)")
        }
    }

    @Test func nullRowsBeforeTheFirstVectorTakeTheKnownDimension() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model", "hash-4", "--cache-dir", cache.path, "--format", "f32", "--on-error", "null", "-q"],
            stdin: "{\"text\":1}\n{\"text\":\"a\"}\n")
        #expect(result.status == 0)
        #expect(result.stdout.count == 2 * 4 * 4)
    }
}
