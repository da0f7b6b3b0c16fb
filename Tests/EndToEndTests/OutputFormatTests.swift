import Foundation
import Testing

/// f32, npy and base64 read back by NumPy and by hand.
@Suite struct OutputFormatTests {
    let input = corpus(25)

    func jsonlVectors(_ cache: TemporaryDirectory) throws -> [[Float]] {
        let result = try Embcache.run(["--model", "hash-12", "--cache-dir", cache.path], stdin: input)
        return vectors(result.stdout).map { $0.map(Float.init) }
    }

    @Test func f32IsRawLittleEndianRowsThatNumpyReads() throws {
        let cache = TemporaryDirectory()
        let expected = try jsonlVectors(cache)
        for format in ["f32", "raw"] {
            let result = try Embcache.run(
                ["--model", "hash-12", "--cache-dir", cache.path, "--format", format], stdin: input)
            #expect(result.status == 0)
            #expect(result.stdout.count == 25 * 12 * 4)
            let file = cache.file("m.\(format)")
            try result.stdout.write(to: file)
            let numpy = try python(
                "import numpy, json, sys; print(json.dumps(numpy.fromfile(sys.argv[1], dtype='<f4').reshape(-1, 12).tolist()))",
                [file.path])
            let rows = try JSONSerialization.jsonObject(with: numpy.stdout) as! [[NSNumber]]
            #expect(rows.map { $0.map(\.floatValue) } == expected)
        }
    }

    @Test func float64RowsWidenTheSameValues() throws {
        let cache = TemporaryDirectory()
        let expected = try jsonlVectors(cache)
        let result = try Embcache.run(
            ["--model", "hash-12", "--cache-dir", cache.path, "--format", "f32", "--dtype", "float64"], stdin: input)
        #expect(result.stdout.count == 25 * 12 * 8)
        let values = result.stdout.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        #expect(values.map(Float.init) == expected.flatMap { $0 })
    }

    @Test(arguments: ["float32", "float64"])
    func npyToAFileLoadsInNumpy(dtype: String) throws {
        let cache = TemporaryDirectory()
        let expected = try jsonlVectors(cache)
        let file = cache.file("m.npy")
        let result = try Embcache.run(
            ["--model", "hash-12", "--cache-dir", cache.path, "--format", "npy", "--dtype", dtype, "-o", file.path],
            stdin: input)
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        let numpy = try python(
            "import numpy, json, sys; a = numpy.load(sys.argv[1]); print(a.dtype, a.shape); print(json.dumps(a.astype('f4').tolist()))",
            [file.path])
        let lines = numpy.stdoutText.split(separator: "\n")
        #expect(lines.first == "\(dtype) (25, 12)")
        let rows = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [[NSNumber]]
        #expect(rows.map { $0.map(\.floatValue) } == expected)
    }

    @Test func npyToAPipeIsSpooledThenWrittenWhole() throws {
        let cache = TemporaryDirectory()
        let expected = try jsonlVectors(cache)
        let result = try Embcache.run(
            ["--model", "hash-12", "--cache-dir", cache.path, "--format", "npy"], stdin: input)
        #expect(result.status == 0)
        let file = cache.file("piped.npy")
        try result.stdout.write(to: file)
        let numpy = try python(
            "import numpy, json, sys; a = numpy.load(sys.argv[1]); print(json.dumps(a.tolist()))", [file.path])
        let rows = try JSONSerialization.jsonObject(with: numpy.stdout) as! [[NSNumber]]
        #expect(rows.map { $0.map(\.floatValue) } == expected)
    }

    @Test func npyOfNoRecordsHasShapeZeroByD() throws {
        let cache = TemporaryDirectory()
        let file = cache.file("empty.npy")
        let result = try Embcache.run(
            ["--model", "hash-12", "--cache-dir", cache.path, "--format", "npy", "-o", file.path], stdin: "")
        #expect(result.status == 0)
        let numpy = try python("import numpy, sys; print(numpy.load(sys.argv[1]).shape)", [file.path])
        #expect(numpy.stdoutText == "(0, 12)\n")
    }

    @Test func base64IsLittleEndianFloat32OfTheSameVector() throws {
        let cache = TemporaryDirectory()
        let expected = try jsonlVectors(cache)
        let result = try Embcache.run(
            ["--model", "hash-12", "--cache-dir", cache.path, "--format", "base64"], stdin: input)
        let decoded = parseJSONLines(result.stdout).map { record -> [Float] in
            let bytes = Data(base64Encoded: record["embedding"] as! String)!
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        #expect(decoded == expected)
    }

    @Test func failedRunLeavesNoOutputFile() throws {
        let cache = TemporaryDirectory()
        let file = cache.file("out.jsonl")
        try Data("previous\n".utf8).write(to: file)
        let result = try Embcache.run(
            ["--model", "hash-12", "--cache-dir", cache.path, "-o", file.path], stdin: "{\"text\":\"a\"}\nbad\n")
        #expect(result.status == 65)
        #expect(try String(contentsOf: file, encoding: .utf8) == "previous\n")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasPrefix("out.jsonl") } == [
                "out.jsonl"
            ])
    }

    /// Regression: `-o /dev/null`, run as root, renamed a regular file over
    /// the device. A file that is not a regular one is written as it is;
    /// here a link to /dev/null, which a rename would replace.
    @Test func outputToADeviceWritesTheDeviceNeverReplacesIt() throws {
        let work = TemporaryDirectory()
        let link = work.file("sink")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/null")
        for format in ["jsonl", "npy", "f32"] {
            let result = try Embcache.run(
                ["--model", "hash-12", "--cache-dir", work.path + "/cache", "--format", format, "-o", link.path],
                stdin: "{\"text\":\"a\"}\n")
            #expect(result.status == 0, "\(format): \(result.stderrText)")
            let kind = try FileManager.default.attributesOfItem(atPath: link.path)[.type] as? FileAttributeType
            #expect(kind == .typeSymbolicLink, "\(format): -o replaced the link by a \(String(describing: kind))")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() == ["cache", "sink"])
    }

    /// Regression: `-o` over a 0600 file left a 0644 one, readable by
    /// everyone: the new file took `0666 & ~umask` whatever it replaced.
    @Test func outputFileKeepsTheModeOfTheFileItReplaces() throws {
        let cache = TemporaryDirectory()
        func run(umask: String, _ file: URL) throws -> ProcessResult {
            let script = "umask \(umask); exec \"$0\" --model hash-8 --cache-dir \"$1\" -o \"$2\""
            return try runProcess(
                "/bin/sh", ["-c", script, Embcache.binary, cache.path, file.path], stdin: Data(corpus(3).utf8))
        }
        func mode(_ file: URL) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as! Int
        }
        let replaced = cache.write("private.jsonl", "previous\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: replaced.path)
        let result = try run(umask: "022", replaced)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(try String(contentsOf: replaced, encoding: .utf8).split(separator: "\n").count == 3)
        #expect(try mode(replaced) == 0o600)

        let shared = cache.write("shared.jsonl", "previous\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o664], ofItemAtPath: shared.path)
        #expect(try run(umask: "077", shared).status == 0)
        #expect(try mode(shared) == 0o664)

        // A new file gets the umask's mode, as any program's would.
        let new = cache.file("new.jsonl")
        #expect(try run(umask: "027", new).status == 0)
        #expect(try mode(new) == 0o640)
    }

    @Test func closedDownstreamPipeIsAQuietSuccess() throws {
        let cache = TemporaryDirectory()
        let file = cache.write("big.jsonl", corpus(20_000))
        let script = "\"$0\" --model hash-64 --cache-dir \"$1\" \"$2\" | head -1 > /dev/null; echo \"${PIPESTATUS[0]}\""
        let result = try runProcess("/bin/bash", ["-c", script, Embcache.binary, cache.path, file.path])
        #expect(result.stdoutText == "0\n")
        #expect(result.stderrText == "")
    }
}
