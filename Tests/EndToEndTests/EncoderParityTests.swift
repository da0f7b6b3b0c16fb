import Foundation
import Testing

/// XLM-RoBERTa, BERT with a SentencePiece tokenizer (as
/// paraphrase-multilingual-MiniLM) and MPNet: small models with random
/// weights (Fixtures/encoders, made by make_encoder_models.py), each run
/// under the poolings sentence-transformers has; every component of every
/// vector within 1e-5 of what sentence-transformers gave for that directory.
@Suite struct EncoderParityTests {
    static let directory = Embcache.fixtures.appendingPathComponent("encoders")
    static let texts = directory.appendingPathComponent("texts.jsonl")

    /// One model under one pooling, as a line of expected.jsonl says.
    struct Variant: CustomTestStringConvertible, Sendable {
        var model: String
        var tokenizer: String
        /// 1_Pooling/config.json, as written.
        var pooling: Data
        var normalize: Bool
        var vectors: [[Double]]

        var mode: String {
            let fields = (try? JSONSerialization.jsonObject(with: pooling)) as? [String: Any] ?? [:]
            if let mode = fields["pooling_mode"] as? String { return mode }
            return fields.keys.sorted().first { (fields[$0] as? Bool) == true } ?? "?"
        }
        var testDescription: String { "\(model) \(mode)\(normalize ? " + Normalize" : "")" }
    }

    static let variants: [Variant] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("expected.jsonl")) else { return [] }
        return parseJSONLines(data).map { line in
            Variant(
                model: line["model"] as! String, tokenizer: line["tokenizer"] as! String,
                pooling: try! JSONSerialization.data(withJSONObject: line["pooling"]!, options: [.sortedKeys]),
                normalize: line["normalize"] as! Bool,
                vectors: (line["vectors"] as! [[NSNumber]]).map { $0.map(\.doubleValue) })
        }
    }()

    /// The model directory of `variant`: the fixture's files, its
    /// tokenizer, and modules.json and the pooling config of the variant.
    static func assemble(_ variant: Variant, in scratch: TemporaryDirectory) throws -> URL {
        let model = scratch.file(variant.model)
        try FileManager.default.copyItem(at: directory.appendingPathComponent(variant.model), to: model)
        let tokenizer = model.appendingPathComponent("tokenizer.json")
        if !FileManager.default.fileExists(atPath: tokenizer.path) {
            try FileManager.default.copyItem(
                at: Embcache.packageRoot.appendingPathComponent(variant.tokenizer), to: tokenizer)
        }
        try FileManager.default.createDirectory(
            at: model.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try variant.pooling.write(to: model.appendingPathComponent("1_Pooling/config.json"))
        var modules = [
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
        ]
        if variant.normalize {
            modules.append(
                ["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"])
        }
        try JSONSerialization.data(withJSONObject: modules).write(to: model.appendingPathComponent("modules.json"))
        return model
    }

    @Test func everyArchitectureAndPoolingIsCovered() {
        let covered = Set(Self.variants.map { "\($0.model) \($0.mode)" })
        for model in ["xlm-roberta", "multilingual-bert", "mpnet"] {
            #expect(covered.contains("\(model) pooling_mode_mean_tokens"), "\(model): mean")
            #expect(covered.contains("\(model) pooling_mode_cls_token"), "\(model): cls")
        }
        for mode in [
            "pooling_mode_max_tokens", "mean_sqrt_len_tokens", "weightedmean", "lasttoken", "max",
        ] {
            #expect(Self.variants.contains { $0.mode == mode }, "\(mode)")
        }
    }

    @Test(arguments: variants) func givesTheVectorsOfSentenceTransformers(_ variant: Variant) throws {
        let scratch = TemporaryDirectory()
        let model = try Self.assemble(variant, in: scratch)
        let input = try Data(contentsOf: Self.texts)
        // As stored: the unnormalised poolings are compared as they are.
        let result = try Embcache.run(
            [
                "--provider", "local", "--model-path", model.path, "--cache-dir", scratch.file("cache").path,
                "--no-normalize",
            ], stdin: input)
        #expect(result.status == 0, "\(result.stderrText)")
        let got = vectors(result.stdout)
        #expect(got.count == parseJSONLines(input).count && got.count == variant.vectors.count)
        for (index, (want, have)) in zip(variant.vectors, got).enumerated() {
            #expect(have.count == 32)
            let difference = zip(want, have).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-5, "text \(index): largest difference \(difference)")
        }
    }

    /// Regression: all-mpnet-base-v2's tokenizer.json has an added token
    /// (`<unk>`) matched after normalisation, which was refused; it is cut
    /// out of the normalised text, lower-cased spellings included.
    @Test func addedTokensMatchedAfterNormalisationAreCutOut() throws {
        guard let variant = Self.variants.first(where: { $0.model == "mpnet" }) else {
            Issue.record("no mpnet variant in expected.jsonl")
            return
        }
        let scratch = TemporaryDirectory()
        let model = try Self.assemble(variant, in: scratch)
        let tokenizer = model.appendingPathComponent("tokenizer.json")
        var fields = try JSONSerialization.jsonObject(with: Data(contentsOf: tokenizer)) as! [String: Any]
        var added = fields["added_tokens"] as! [[String: Any]]
        let vocabulary = (fields["model"] as! [String: Any])["vocab"] as! [String: Any]
        let unknown = (vocabulary["<unk>"] as! NSNumber).intValue
        added.append([
            "id": unknown, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": true, "special": true,
        ])
        fields["added_tokens"] = added
        try JSONSerialization.data(withJSONObject: fields).write(to: tokenizer)
        func embed(_ text: String) throws -> [Double] {
            let result = try Embcache.run(
                ["--model-path", model.path, "--cache-dir", scratch.file("cache").path, "--no-normalize"],
                stdin: #"{"text":"\#(text)"}"# + "\n")
            #expect(result.status == 0, "\(result.stderrText)")
            return vectors(result.stdout).first ?? []
        }
        // "<UNK>" lower-cases to the token; "< unk >" is three words.
        let token = try embed("x<UNK>y")
        #expect(token == (try embed("x <unk> y")))
        #expect(token != (try embed("x < unk > y")))
    }
}
