import Foundation
import Testing

@testable import EmbCacheCore
@testable import EmbCacheProviders

@Suite struct ModelCatalogTests {
    /// A directory of its own per test, removed when the test ends.
    final class TemporaryDirectory {
        let path: String

        init() throws {
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent("embcache-config-\(UUID().uuidString)")
                .path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ text: String, to name: String = "config.toml") throws -> String {
            try write(Data(text.utf8), to: name)
        }

        func write(_ data: Data, to name: String) throws -> String {
            let file = path + "/" + name
            try data.write(to: URL(fileURLWithPath: file))
            return file
        }
    }

    /// The message of the configuration error loading `text` gives.
    private func loadError(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String?
    {
        let directory = try TemporaryDirectory()
        let file = try directory.write(text)
        do {
            _ = try ModelCatalog.load(path: file, required: true)
            Issue.record("no error", sourceLocation: sourceLocation)
            return nil
        } catch {
            guard case .configuration(let message) = error else {
                Issue.record("not a configuration error: \(error)", sourceLocation: sourceLocation)
                return nil
            }
            #expect(message.hasPrefix(file + ": "), sourceLocation: sourceLocation)
            return String(message.dropFirst(file.count + 2))
        }
    }

    // MARK: - Where the file is

    @Test func theFlagWins() {
        let environment = ["XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"]
        #expect(ModelCatalog.path(flag: "/etc/embcache.toml", environment: environment) == "/etc/embcache.toml")
        #expect(ModelCatalog.path(flag: "relative.toml", environment: [:]) == "relative.toml")
    }

    @Test func xdgConfigHomeComesBeforeHome() {
        #expect(
            ModelCatalog.path(flag: nil, environment: ["XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"])
                == "/xdg/embcache/config.toml")
        #expect(ModelCatalog.path(flag: nil, environment: ["XDG_CONFIG_HOME": "/xdg/"]) == "/xdg/embcache/config.toml")
    }

    @Test(arguments: ["", "relative/config"])
    func anEmptyOrRelativeXDGConfigHomeIsIgnored(_ value: String) {
        #expect(
            ModelCatalog.path(flag: nil, environment: ["XDG_CONFIG_HOME": value, "HOME": "/home/u"])
                == "/home/u/.config/embcache/config.toml")
        #expect(ModelCatalog.path(flag: nil, environment: ["XDG_CONFIG_HOME": value]) == nil)
    }

    @Test func homeAlone() {
        #expect(
            ModelCatalog.path(flag: nil, environment: ["HOME": "/home/u"]) == "/home/u/.config/embcache/config.toml")
        #expect(ModelCatalog.path(flag: nil, environment: ["HOME": "/"]) == "/.config/embcache/config.toml")
    }

    @Test func noPlaceWithoutHome() {
        #expect(ModelCatalog.path(flag: nil, environment: [:]) == nil)
        #expect(ModelCatalog.path(flag: nil, environment: ["HOME": ""]) == nil)
    }

    // MARK: - Reading it

    @Test func aMissingFileIsAnEmptyCatalogUnlessRequired() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path + "/missing.toml"
        let catalog = try ModelCatalog.load(path: missing, required: false)
        #expect(catalog.models.isEmpty)
        #expect(catalog.path == nil)
        #expect(catalog.model(named: "small") == nil)
        #expect(try ModelCatalog.load(path: nil, required: false).models.isEmpty)

        #expect {
            try ModelCatalog.load(path: missing, required: true)
        } throws: { error in
            (error as? EmbCacheError)?.description == "\(missing): no such file or directory"
        }
    }

    @Test func aDirectoryIsNotAFile() throws {
        let directory = try TemporaryDirectory()
        for required in [false, true] {
            #expect {
                try ModelCatalog.load(path: directory.path, required: required)
            } throws: { error in
                (error as? EmbCacheError)?.description == "\(directory.path): is a directory"
            }
        }
    }

    @Test func anUnreadableFileIsAnError() throws {
        // root reads whatever the mode says
        guard geteuid() != 0 else { return }
        let directory = try TemporaryDirectory()
        let file = try directory.write("")
        chmod(file, 0)
        #expect {
            try ModelCatalog.load(path: file, required: false)
        } throws: { error in
            (error as? EmbCacheError)?.description == "\(file): permission denied"
        }
    }

    @Test func invalidUTF8IsAnErrorNotARepair() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(Data("[models.a]\nmodel = \"x".utf8) + Data([0xFF, 0x22]), to: "bad.toml")
        #expect {
            try ModelCatalog.load(path: file, required: false)
        } throws: { error in
            (error as? EmbCacheError)?.description == "\(file): not valid UTF-8"
        }
    }

    @Test func tomlErrorsNameTheFileAndLine() throws {
        #expect(
            try loadError("[models.a]\nprovider = \"x\"\nprovider = \"y\"")
                == "line 3: key models.a.provider is defined twice")
        #expect(try loadError("[models.a]\ncreated = 1979-05-27") == "line 2: dates and times are not supported")
    }

    @Test func anEmptyFileHasNoModels() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("# nothing yet\n")
        let catalog = try ModelCatalog.load(path: file, required: true)
        #expect(catalog.models.isEmpty)
        #expect(catalog.path == file)
    }

    // MARK: - Models

    @Test func everySettingWithItsType() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            """
            [models.small]
            provider = "openai"
            model = "text-embedding-3-small"
            base-url = "https://api.example.com/v1"
            api-key-env = "EXAMPLE_KEY"
            dimensions = 256
            input-type = "query"
            task-type = "RETRIEVAL_QUERY"
            truncate = true
            deployment = "embed"
            api-version = "2024-02-01"
            command = "./embed.sh"
            batch-size = 512
            batch-bytes = 1_000_000
            max-requests = 8
            rpm = 3000
            tpm = 1_000_000
            timeout = 30
            max-retries = 5
            max-retry-wait = 2.5
            window = 4096

            [models.local]
            command = "python embed.py"
            truncate = "END"
            timeout = 1.5
            max-retry-wait = 60
            """)
        let catalog = try ModelCatalog.load(path: file, required: true)
        #expect(catalog.path == file)
        #expect(Set(catalog.models.keys) == ["small", "local"])

        let small = try #require(catalog.model(named: "small"))
        #expect(small.name == "small")
        #expect(small.settings.count == 20)
        #expect(small.providerModel == "text-embedding-3-small")
        #expect(small.string(.provider) == "openai")
        #expect(small.string(.baseURL) == "https://api.example.com/v1")
        #expect(small.string(.apiKeyEnv) == "EXAMPLE_KEY")
        #expect(small.string(.inputType) == "query")
        #expect(small.string(.taskType) == "RETRIEVAL_QUERY")
        #expect(small.string(.deployment) == "embed")
        #expect(small.string(.apiVersion) == "2024-02-01")
        #expect(small.string(.command) == "./embed.sh")
        #expect(small.integer(.dimensions) == 256)
        #expect(small.integer(.batchSize) == 512)
        #expect(small.integer(.batchBytes) == 1_000_000)
        #expect(small.integer(.maxRequests) == 8)
        #expect(small.integer(.rpm) == 3000)
        #expect(small.integer(.tpm) == 1_000_000)
        #expect(small.integer(.maxRetries) == 5)
        #expect(small.integer(.window) == 4096)
        #expect(small.seconds(.timeout) == 30)
        #expect(small.seconds(.maxRetryWait) == 2.5)
        #expect(small.string(.truncate) == "true")

        let local = try #require(catalog.model(named: "local"))
        #expect(local.providerModel == "local")
        #expect(local.string(.truncate) == "END")
        #expect(local.seconds(.timeout) == 1.5)
        #expect(local.seconds(.maxRetryWait) == 60)
        #expect(local.string(.provider) == nil)
        #expect(local.integer(.batchSize) == nil)
        #expect(catalog.model(named: "large") == nil)
    }

    @Test func accessorsReadOnlyTheirOwnType() {
        let model = NamedModel(
            name: "m",
            settings: [
                .model: .integer(3), .batchSize: .string("8"), .timeout: .boolean(true),
                .truncate: .boolean(false),
            ])
        #expect(model.providerModel == "m")
        #expect(model.string(.model) == nil)
        #expect(model.integer(.batchSize) == nil)
        #expect(model.seconds(.timeout) == nil)
        #expect(model.string(.truncate) == "false")
        #expect(NamedModel(name: "m").string(.truncate) == nil)
    }

    @Test func underscoresReadAsDashes() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("[models.m]\nbatch_size = 64\nmax_retry_wait = 10\napi_key_env = \"K\"\n")
        let model = try #require(try ModelCatalog.load(path: file, required: false).model(named: "m"))
        #expect(
            model.settings == [.batchSize: .integer(64), .maxRetryWait: .integer(10), .apiKeyEnv: .string("K")])
    }

    @Test func bothSpellingsAtOnceAreAnError() throws {
        #expect(
            try loadError("[models.m]\nbatch-size = 64\nbatch_size = 32")
                == #"models.m: both "batch-size" and "batch_size" given; keep one"#)
        #expect(
            try loadError("[models.m]\nmax_retry-wait = 1\nmax_retry_wait = 2")
                == #"models.m: both "max_retry-wait" and "max_retry_wait" given; keep one"#)
    }

    @Test func quotedNamesMayHoldDots() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            """
            [models."bge-small-en-v1.5"]
            provider = "ollama"

            [models.'BAAI/bge m3']
            model = "bge-m3"
            """)
        let catalog = try ModelCatalog.load(path: file, required: false)
        #expect(Set(catalog.models.keys) == ["bge-small-en-v1.5", "BAAI/bge m3"])
        #expect(catalog.model(named: "bge-small-en-v1.5")?.providerModel == "bge-small-en-v1.5")
        #expect(catalog.model(named: "BAAI/bge m3")?.providerModel == "bge-m3")
        #expect(try loadError("[models.\"a.b\"]\ncolour = 1") == #"models."a.b": unknown key "colour""#)
    }

    @Test func inlineAndDottedFormsAreTheSameModels() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            """
            models.a.provider = "openai"
            models.b = { provider = "cohere", input_type = "search_query" }
            """)
        let catalog = try ModelCatalog.load(path: file, required: false)
        #expect(catalog.model(named: "a") == NamedModel(name: "a", settings: [.provider: .string("openai")]))
        #expect(
            catalog.model(named: "b")
                == NamedModel(
                    name: "b", settings: [.provider: .string("cohere"), .inputType: .string("search_query")]))
    }

    @Test func anEmptyModelTableNamesTheProviderModel() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("[models.all-minilm]\n")
        let model = try #require(try ModelCatalog.load(path: file, required: false).model(named: "all-minilm"))
        #expect(model.settings.isEmpty)
        #expect(model.providerModel == "all-minilm")
    }

    // MARK: - What is not a model

    @Test(arguments: [
        ("[models.small]\ncolour = \"red\"", #"models.small: unknown key "colour""#),
        ("[models.small]\nBatch-Size = 1", #"models.small: unknown key "Batch-Size""#),
        ("[models.small]\nbatch-size = \"512\"", #"models.small: "batch-size" must be an integer, not a string"#),
        ("[models.small]\nbatch-size = 1.5", #"models.small: "batch-size" must be an integer, not a float"#),
        ("[models.small]\ndimensions = true", #"models.small: "dimensions" must be an integer, not a boolean"#),
        ("[models.small]\nmodel = 3", #"models.small: "model" must be a string, not an integer"#),
        ("[models.small]\nprovider = [\"openai\"]", #"models.small: "provider" must be a string, not an array"#),
        ("[models.small]\ntruncate = 1", #"models.small: "truncate" must be a boolean or a string, not an integer"#),
        ("[models.small]\ntimeout = \"30s\"", #"models.small: "timeout" must be a number of seconds, not a string"#),
        (
            "[models.small]\nmax-retry-wait = {}",
            #"models.small: "max-retry-wait" must be a number of seconds, not a table"#
        ),
        ("[models.small]\nbatch_size = \"x\"", #"models.small: "batch-size" must be an integer, not a string"#),
        ("[models.small]\nbatch-size = 0", #"models.small: "batch-size" must be positive, not 0"#),
        ("[models.small]\nrpm = -60", #"models.small: "rpm" must be positive, not -60"#),
        ("[models.small]\nwindow = 0", #"models.small: "window" must be positive, not 0"#),
        ("[models.small]\ntimeout = 0", #"models.small: "timeout" must be between 0.001 and 31536000 seconds, not 0"#),
        (
            "[models.small]\ntimeout = -1.5",
            #"models.small: "timeout" must be between 0.001 and 31536000 seconds, not -1.5"#
        ),
        (
            "[models.small]\nmax-retry-wait = inf",
            #"models.small: "max-retry-wait" must be between 0.001 and 31536000 seconds, not inf"#
        ),
        (
            "[models.small]\ntimeout = nan",
            #"models.small: "timeout" must be between 0.001 and 31536000 seconds, not nan"#
        ),
        (
            "[models.small]\ntimeout = 1e300",
            #"models.small: "timeout" must be between 0.001 and 31536000 seconds, not 1e+300"#
        ),
        ("[models.small]\nmax-retries = -1", #"models.small: "max-retries" must be 0 or more, not -1"#),
        ("[other]\na = 1", #"unknown table "other"; models go under [models.NAME]"#),
        ("debug = true\n[models.a]", #"unknown key "debug"; models go under [models.NAME]"#),
        ("model = \"x\"", #"unknown key "model"; models go under [models.NAME]"#),
        ("models = 1", #""models" must be a table, not an integer"#),
        ("[[models]]\nprovider = \"x\"", #""models" must be a table, not an array"#),
        ("[models]\nsmall = \"text-embedding-3-small\"", "models.small must be a table, not a string"),
        ("[models]\n\"\" = 1", #"models."" must be a table, not an integer"#),
        ("[models.\"a\\nb\"]\n'x\"y' = 1", #"models."a\u000Ab": unknown key "x\"y""#),
    ])
    func invalidCatalog(_ text: String, message: String) throws {
        #expect(try loadError(text) == message)
    }

    @Test func everyAPIParameterIsAModelSetting() {
        for parameter in APIParameter.allCases {
            #expect(parameter.setting.key == parameter.rawValue)
        }
    }

    /// The man page lists the file's keys by type: every setting of the
    /// table is there, under the words for its kind, and nothing else is.
    @Test func theManPageListsEverySettingUnderItsType() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../man/embcache.1"
        ).standardized
        let text = try String(contentsOf: page, encoding: .utf8)
        let start = try #require(text.range(of: "The keys of a table are the long options"))
        let list = try #require(text[start.upperBound...].range(of: ".Bl -tag -width Ds\n"))
        let end = try #require(text[list.upperBound...].range(of: "\n.El\n"))
        var described: [String: String] = [:]
        var keys: [String] = []
        for line in text[list.upperBound..<end.lowerBound].split(separator: "\n") {
            if line.hasPrefix(".It Ic ") {
                keys = line.dropFirst(7).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                for key in keys { described[key] = "" }
            } else {
                for key in keys { described[key]! += line + " " }
            }
        }
        #expect(Set(described.keys) == Set(ModelSetting.allCases.map(\.key)))
        for setting in ModelSetting.allCases {
            let words =
                switch setting.kind {
                case .string: "tring"
                case .count: "at least 1"
                case .countOrZero: "at least 0"
                case .seconds: "Seconds"
                case .truncate: "boolean"
                }
            #expect(described[setting.key]?.contains(words) == true, "\(setting.key): \(described[setting.key] ?? "")")
        }
    }
}
