import Foundation
import Testing

@testable import EmbCacheCore
@testable import EmbCachePostgres
@testable import EmbCacheStore

/// The engines every storage test runs on. PostgreSQL needs the server
/// Scripts/test starts (`$EMBCACHE_TEST_POSTGRES`, an admin login).
enum Engine: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["EMBCACHE_TEST_POSTGRES"]
    static var available: [Engine] { postgresURL == nil ? [.sqlite] : allCases }

    /// A fresh, empty cache on this engine.
    func makeStorage() throws -> CacheStorage {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID())")
            return SQLiteStorage(directory: directory.path)
        case .postgres:
            return PostgresStorage(
                address: PostgresAddress(url: try Self.freshDatabase(), environment: [:]), retryBound: 5)
        }
    }

    /// A new database on the test server; its URL.
    static func freshDatabase() throws -> String {
        let admin = try #require(postgresURL, "EMBCACHE_TEST_POSTGRES is not set: run Scripts/test")
        let name = "conformance_" + UUID().uuidString.lowercased().replacing("-", with: "")
        let connection = try PostgresConnection(PostgresAddress(url: admin, environment: [:]))
        try connection.script("CREATE DATABASE \(name)")
        return String(admin[..<admin.lastIndex(of: "/")!]) + "/" + name
    }
}

/// The same behaviour from every storage engine: what the filter and the
/// subcommands rely on.
@Suite struct StoreConformanceTests {
    let model = ModelIdentity(name: "conformance-model")

    func entry(_ text: String, dimension: Int = 4, seed: Float = 0) -> StoreEntry {
        let key = CacheKey(text: text)
        let vector = key.withUnsafeBytes { bytes in (0..<dimension).map { Float(bytes[$0]) / 255 + seed } }
        return StoreEntry(key: key, text: text, vector: vector)
    }

    @Test(arguments: Engine.available)
    func storedVectorsComeBackForTheirKeysInTheOrderAsked(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let store = try storage.openModel(model, provider: "test", expectedDimension: nil)
        let texts = ["alpha", "beta", "gamma", "ünïcödé 🦀", "漢字", String(repeating: "long text ", count: 10_000)]
        let entries = texts.map { entry($0) }
        #expect(try store.lookup(entries.map(\.key)) == entries.map { _ in .miss })
        try store.insert(entries)
        let asked = [entries[2].key, CacheKey(text: "absent"), entries[0].key, entries[2].key, entries[5].key]
        #expect(
            try store.lookup(asked) == [
                .hit(entries[2].vector), .miss, .hit(entries[0].vector), .hit(entries[2].vector),
                .hit(entries[5].vector),
            ])
        #expect(store.dimension == 4)
        // A new store on the same cache sees them too.
        let again = try storage.openModel(model, provider: nil, expectedDimension: nil)
        #expect(try again.lookup(entries.map(\.key)) == entries.map { .hit($0.vector) })
        #expect(again.dimension == 4)
    }

    @Test(arguments: Engine.available)
    func theFirstVectorOfAKeyStaysUnlessItIsReplacedAsInvalid(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let store = try storage.openModel(model, provider: "test", expectedDimension: nil)
        let first = entry("same text")
        try store.insert([first])
        try store.insert([entry("same text", seed: 1)])
        #expect(try store.lookup([first.key]) == [.hit(first.vector)])
        var replacement = entry("same text", seed: 2)
        replacement.replacesInvalid = true
        try store.insert([replacement])
        #expect(try store.lookup([first.key]) == [.hit(replacement.vector)])
    }

    @Test(arguments: Engine.available)
    func aLookupOnlyStoreCreatesNothing(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let store = try storage.openModel(model, provider: nil, expectedDimension: 4)
        #expect(try store.lookup([CacheKey(text: "x")]) == [.miss])
        #expect(store.dimension == 4)
        #expect(throws: EmbCacheError.self) { try store.insert([entry("x")]) }
        if case .postgres = engine {
            #expect(try storage.summarize(model: nil).models.isEmpty)
        }
    }

    @Test(arguments: Engine.available)
    func theDimensionIsRecordedAndHeldTo(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let store = try storage.openModel(model, provider: "test", expectedDimension: nil)
        try store.insert([entry("a")])
        #expect(throws: EmbCacheError.self) { try store.insert([entry("b", dimension: 5)]) }
        #expect(throws: EmbCacheError.self) {
            _ = try storage.openModel(model, provider: "test", expectedDimension: 8)
        }
        #expect(try storage.summarize(model: model).models.map(\.dimension) == [4])
    }

    @Test(arguments: Engine.available)
    func twoIdentitiesWhoseNamesSlugTheSameNeverShareVectors(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let store = try storage.openModel(ModelIdentity(name: "Model A"), provider: "test", expectedDimension: nil)
        try store.insert([entry("a")])
        #expect(ModelIdentity(name: "model-a").fileName == ModelIdentity(name: "Model A").fileName)
        #expect(throws: EmbCacheError.self) {
            let other = try storage.openModel(ModelIdentity(name: "model-a"), provider: "test", expectedDimension: nil)
            try other.insert([entry("a", seed: 1)])
        }
        #expect(throws: EmbCacheError.self) {
            _ = try storage.readRows(of: ModelIdentity(name: "model-a"), withText: false)
        }
    }

    @Test(arguments: Engine.available)
    func anyModelNameIsSafeAndLongNamesStayApart(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let long = String(repeating: "a very long model name ", count: 8)
        let names = ["x\"; DROP TABLE hashstring; --", "漢字 ünïcödé 🦀", long + "one", long + "two"]
        for (index, name) in names.enumerated() {
            try storage.openModel(ModelIdentity(name: name), provider: "test", expectedDimension: nil)
                .insert([entry("text \(index)")])
        }
        let summary = try storage.summarize(model: nil)
        #expect(Set(summary.models.compactMap(\.model)) == Set(names))
        #expect(summary.models.allSatisfy { $0.vectors == 1 })
        #expect(summary.texts == 4)
        if case .postgres = engine {
            #expect(summary.models.allSatisfy { $0.file.utf8.count <= 63 })
        }
        for (index, name) in names.enumerated() {
            let store = try storage.openModel(ModelIdentity(name: name), provider: nil, expectedDimension: nil)
            #expect(try store.lookup([entry("text \(index)").key]) == [.hit(entry("text \(index)").vector)])
        }
    }

    @Test(arguments: Engine.available)
    func summaryRowsGarbageAndRemovalAgree(engine: Engine) throws {
        let storage = try engine.makeStorage()
        let other = ModelIdentity(name: "other-model", parameters: ["dimensions": "4"])
        let shared = (0..<50).map { entry("shared \($0)") }
        try storage.openModel(model, provider: "test", expectedDimension: nil).insert(shared)
        try storage.openModel(other, provider: "test", expectedDimension: nil).insert(
            shared.prefix(10) + (0..<5).map { entry("own \($0)") })

        let summary = try storage.summarize(model: nil)
        #expect(Set(summary.models.compactMap(\.model)) == [model.canonical, other.canonical])
        #expect(summary.models.map(\.vectors).sorted() == [15, 50])
        #expect(summary.texts == 55)
        #expect(summary.unusedTexts == 0)

        let reader = try storage.readRows(of: model, withText: true)
        #expect(reader.model == model.canonical)
        #expect(reader.provider == "test")
        var rows: [StoredRow] = []
        while true {
            let chunk = try reader.next(limit: 7)
            if chunk.isEmpty { break }
            rows += chunk
        }
        #expect(rows.count == 50)
        let byText = Dictionary(uniqueKeysWithValues: shared.map { ($0.text, $0) })
        for row in rows {
            let text = try #require(row.text)
            let expected = try #require(byText[text])
            #expect(row.key == expected.key)
            #expect(row.vector == .hit(expected.vector))
        }

        #expect(try storage.removeModel(model) == 50)
        #expect(try storage.summarize(model: nil).unusedTexts == 40)
        #expect(try storage.collectGarbage().textsDeleted == 40)
        #expect(try storage.summarize(model: nil).texts == 15)
        #expect(throws: EmbCacheError.self) { _ = try storage.summarize(model: model) }
        let check = try storage.verify(model: nil, repair: false) { Issue.record("unexpected problem: \($0)") }
        #expect(check.problems == 0)
        #expect(check.rowsChecked == 30)
    }
}
