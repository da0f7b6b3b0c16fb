import Foundation
import Testing

/// `--prompt`: a prompt of the model's config_sentence_transformers.json put
/// before each text, which is then keyed and cached as what it is.
@Suite struct PromptTests {
    static let prompts = #"{"query": "query: ", "passage": "passage: "}"#

    /// A copy of the test model with `settings` as its
    /// config_sentence_transformers.json (none for nil).
    static func model(_ directory: TemporaryDirectory, settings: String?) throws -> String {
        let model = try LocalTestModel.copy(into: directory)
        if let settings {
            try Data(settings.utf8).write(to: model.appendingPathComponent("config_sentence_transformers.json"))
        }
        return model.path
    }

    static func embed(
        _ model: String, _ cache: TemporaryDirectory, _ text: String, _ extra: [String] = []
    ) throws -> ProcessResult {
        try Embcache.run(
            ["--model-path", model, "--cache-dir", cache.path, "-v"] + extra, stdin: "{\"text\":\"\(text)\"}\n")
    }

    static func vector(_ result: ProcessResult) -> [Double] {
        (parseJSONLines(result.stdout).first?["embedding"] as? [NSNumber] ?? []).map(\.doubleValue)
    }

    @Test func thePromptedTextIsTheOneKeyed() throws {
        let directory = TemporaryDirectory()
        let model = try Self.model(directory, settings: #"{"prompts": \#(Self.prompts)}"#)
        let cache = TemporaryDirectory()
        let prompted = try Self.embed(model, cache, "how are you", ["--prompt", "query"])
        #expect(prompted.status == 0, "\(prompted.stderrText)")
        #expect(prompted.stderrText.contains(" 1 computed "), "\(prompted.stderrText)")
        // The record is written as it came, with the vector of the prompted text.
        #expect(parseJSONLines(prompted.stdout).first?["text"] as? String == "how are you")

        let spelled = try Self.embed(model, cache, "query: how are you")
        #expect(spelled.status == 0, "\(spelled.stderrText)")
        #expect(spelled.stderrText.contains(" 0 computed "), "\(spelled.stderrText)")
        #expect(Self.vector(spelled) == Self.vector(prompted))

        let bare = try Self.embed(model, cache, "how are you")
        #expect(bare.stderrText.contains(" 1 computed "), "\(bare.stderrText)")
        #expect(Self.vector(bare) != Self.vector(prompted))

        let passage = try Self.embed(model, cache, "how are you", ["--prompt", "passage"])
        #expect(passage.stderrText.contains(" 1 computed "), "\(passage.stderrText)")
        #expect(Self.vector(passage) != Self.vector(prompted))
        #expect(Self.vector(passage) != Self.vector(bare))
    }

    /// As sentence-transformers: the default prompt applies when none is
    /// named; an empty name means none; the config file's key as the flag.
    @Test func theDefaultPromptAppliesUnlessAnEmptyOneIsGiven() throws {
        let directory = TemporaryDirectory()
        let model = try Self.model(
            directory, settings: #"{"prompts": \#(Self.prompts), "default_prompt_name": "passage"}"#)
        let plainDirectory = TemporaryDirectory()
        let plain = try Self.model(plainDirectory, settings: nil)

        let byDefault = try Self.embed(model, TemporaryDirectory(), "a text")
        let spelled = try Self.embed(plain, TemporaryDirectory(), "passage: a text")
        let none = try Self.embed(model, TemporaryDirectory(), "a text", ["--prompt", ""])
        let bare = try Self.embed(plain, TemporaryDirectory(), "a text")
        for result in [byDefault, spelled, none, bare] { #expect(result.status == 0, "\(result.stderrText)") }
        #expect(Self.vector(byDefault).count == 384)
        #expect(Self.vector(byDefault) == Self.vector(spelled))
        #expect(Self.vector(none) == Self.vector(bare))
        #expect(Self.vector(none) != Self.vector(byDefault))

        let config = directory.file("config.toml")
        try Data("[models.e5]\nmodel-path = \"\(model)\"\nprompt = \"query\"\n".utf8).write(to: config)
        let named = try Embcache.run(
            ["--model", "e5", "--config", config.path, "--cache-dir", TemporaryDirectory().path],
            stdin: "{\"text\":\"a text\"}\n")
        let flagged = try Self.embed(model, TemporaryDirectory(), "a text", ["--prompt", "query"])
        #expect(named.status == 0, "\(named.stderrText)")
        #expect(Self.vector(named) == Self.vector(flagged))
        #expect(Self.vector(named) != Self.vector(byDefault))
    }

    @Test func misusesExit64() throws {
        let directory = TemporaryDirectory()
        let model = try Self.model(
            directory, settings: #"{"prompts": \#(Self.prompts), "default_prompt_name": "query"}"#)
        let plainDirectory = TemporaryDirectory()
        let plain = try Self.model(plainDirectory, settings: nil)
        let cases: [([String], String)] = [
            (
                ["--model-path", model, "--prompt", "nope"],
                "embcache: --prompt nope: the model has no such prompt (its prompts: \"passage\", \"query\")\n"
            ),
            (
                ["--model", "hash-64", "--prompt", "query"],
                "embcache: --prompt names a prompt of a local model's config_sentence_transformers.json; for another provider, give the text with --prefix\n"
            ),
            (
                ["--model-path", model, "--prefix", "q: "],
                "embcache: --prefix and the model's prompt would both go before each text: give one (--prompt '' leaves the prompt out)\n"
            ),
            (
                ["--model-path", plain, "--prompt", "query"],
                "embcache: --prompt query: the model has no such prompt (its config_sentence_transformers.json names none)\n"
            ),
        ]
        for (arguments, message) in cases {
            let cache = TemporaryDirectory()
            let result = try Embcache.run(arguments + ["--cache-dir", cache.path], stdin: "{\"text\":\"x\"}\n")
            #expect(result.status == 64, "\(arguments): \(result.stderrText)")
            #expect(result.stderrText == message)
            #expect(result.stdout.isEmpty)
        }
        // A prompt and a prefix are fine when the prompt is left out.
        let prefixed = try Embcache.run(
            ["--model-path", model, "--prompt", "", "--prefix", "query: ", "--cache-dir", TemporaryDirectory().path],
            stdin: "{\"text\":\"x\"}\n")
        let prompted = try Self.embed(model, TemporaryDirectory(), "x")
        #expect(prefixed.status == 0, "\(prefixed.stderrText)")
        #expect(Self.vector(prefixed) == Self.vector(prompted))
    }

    @Test func modelsThatCannotTakeAPromptExit78() throws {
        let first = TemporaryDirectory()
        let second = TemporaryDirectory()
        let unknownDefault = try Self.model(
            first, settings: #"{"prompts": \#(Self.prompts), "default_prompt_name": "doc"}"#)
        let notText = try Self.model(second, settings: #"{"prompts": {"query": 1}}"#)
        let outside = TemporaryDirectory()
        let leftOut = try Self.model(outside, settings: #"{"prompts": \#(Self.prompts)}"#)
        let pooling = URL(fileURLWithPath: leftOut).appendingPathComponent("1_Pooling/config.json")
        var fields = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: pooling)) as? [String: Any])
        fields["include_prompt"] = false
        try JSONSerialization.data(withJSONObject: fields).write(to: pooling)
        let cases: [([String], String)] = [
            (
                ["--model-path", unknownDefault],
                "config_sentence_transformers.json: \"default_prompt_name\" is \"doc\", which is not in \"prompts\""
            ),
            (["--model-path", notText], "config_sentence_transformers.json: prompts: \"query\" is not a string"),
            (
                ["--model-path", leftOut, "--prompt", "query"],
                "the model's pooling leaves the prompt's tokens out (include_prompt is false)"
            ),
        ]
        for (arguments, message) in cases {
            let result = try Embcache.run(
                arguments + ["--cache-dir", TemporaryDirectory().path], stdin: "{\"text\":\"x\"}\n")
            #expect(result.status == 78, "\(arguments): \(result.stderrText)")
            #expect(result.stderrText.contains(message), "\(result.stderrText)")
        }
        // Without a prompt, such a pooling is no matter.
        let plain = try Self.embed(leftOut, TemporaryDirectory(), "x")
        #expect(plain.status == 0, "\(plain.stderrText)")
    }
}
