import Foundation
import Synchronization
import Testing

@testable import EmbCacheCore
@testable import EmbCacheKit
@testable import EmbCacheStore

/// The lookup stage against a store that answers from a dictionary, the
/// real commit queue, and request slots on the scripted provider of
/// RequestPoolTests (a text's vector is its length; "refused" in a text
/// makes the provider refuse its batch).
@Suite struct LookupStageTests {
    typealias ScriptedProvider = RequestPoolTests.ScriptedProvider

    final class DictionaryStore: VectorStore, @unchecked Sendable {
        let identity = ModelIdentity(name: "lookup-test")
        var dimension: Int? { 1 }
        let stored: [CacheKey: StoredVector]

        init(_ stored: [String: StoredVector] = [:]) {
            self.stored = Dictionary(uniqueKeysWithValues: stored.map { (CacheKey(text: $0.key), $0.value) })
        }

        func lookup(_ keys: [CacheKey]) throws -> [StoredVector] { keys.map { stored[$0] ?? .miss } }
        func insert(_ entries: [StoreEntry]) throws {}
    }

    /// A stage with its parts; without a provider it is a run that never
    /// computes (`get`, `--offline`).
    struct Harness {
        let provider = ScriptedProvider()
        let commits = CommitQueue(capacity: 4)
        let pool: RequestPool?
        let stage: LookupStage

        init(
            store: DictionaryStore = DictionaryStore(), computes: Bool = true, onError: ErrorPolicy = .fail,
            interrupted: @escaping () -> Bool = { false }
        ) {
            let commits = commits
            pool = computes ? RequestPoolTests.pool(provider, texts: 8, width: 2) : nil
            stage = LookupStage(
                store: store, commits: commits, pool: pool, mode: .jsonl, onError: onError,
                reporter: Reporter(verbosity: .quiet, showProgress: false), interrupted: interrupted)
        }
    }

    /// Records of JSON Lines, numbered from line 1 of stdin.
    static func records(_ lines: [String]) -> [Record] {
        let decoder = RecordDecoder(mode: .jsonl, textField: "text", outputField: nil, maxLineBytes: 1 << 20)
        return lines.enumerated().map { index, line in
            decoder.decode(
                Line(
                    location: EmbCacheCore.SourceLocation(source: "stdin", line: index + 1), bytes: Array(line.utf8),
                    tooLong: false))
        }
    }

    static func json(_ texts: [String]) -> [String] { texts.map { "{\"text\":\"\($0)\"}" } }

    /// Each row as its line and its vector's one value (nil for a null row).
    static func written(_ rows: [OutputRow]) -> [String] {
        rows.map { row in
            let value = row.vector?.first.map { "\($0)" } ?? "null"
            return "\(String(decoding: row.bytes, as: UTF8.self)) \(value)"
        }
    }

    @Test func hitsComeFromTheStoreAndEachDistinctMissIsSentOnce() throws {
        let harness = Harness(store: DictionaryStore(["a": .hit([42])]))
        let texts = ["a", "bb", "bb", "ccc", "a"]
        let window = try harness.stage.begin(Self.records(Self.json(texts)))
        let (rows, end) = try harness.stage.finish(window)
        harness.pool?.close()
        #expect(end == nil)
        #expect(harness.provider.requests == [["bb", "ccc"]])
        #expect(rows.map { $0.vector ?? [] } == [[42], [2], [2], [3], [42]])
        #expect(rows.map { String(decoding: $0.bytes, as: UTF8.self) } == Self.json(texts))
    }

    /// Two windows in flight share a text: the later one borrows it from
    /// the earlier one, with its vector, or its refusal, once that one is
    /// finished.
    @Test func aTextInFlightForAnEarlierWindowIsBorrowedNotSentAgain() throws {
        let harness = Harness(onError: .skip)
        let first = try harness.stage.begin(Self.records(Self.json(["xx", "refused"])))
        let second = try harness.stage.begin(Self.records(Self.json(["refused", "xx", "yyy"])))
        #expect(second.requests?.misses.map(\.text) == ["yyy"])
        let (firstRows, _) = try harness.stage.finish(first)
        let (secondRows, end) = try harness.stage.finish(second)
        harness.pool?.close()
        #expect(end == nil)
        #expect(Self.written(firstRows) == [#"{"text":"xx"} 2.0"#])
        #expect(Self.written(secondRows) == [#"{"text":"xx"} 2.0"#, #"{"text":"yyy"} 3.0"#])
        // "xx" went out with its first window's batch and again when that
        // batch was split, never for the second window.
        #expect(harness.provider.requests.filter { $0.contains("yyy") } == [["yyy"]])
        #expect(harness.provider.requests.filter { $0.contains("xx") }.count == 2)
    }

    @Test func aVectorAnsweredAndNotYetCommittedIsUsedNotSent() throws {
        let harness = Harness()
        harness.commits.add([StoreEntry(key: CacheKey(text: "zz"), text: "zz", vector: [7])])
        let window = try harness.stage.begin(Self.records(Self.json(["zz"])))
        #expect(window.requests == nil)
        let (rows, _) = try harness.stage.finish(window)
        harness.pool?.close()
        #expect(rows.map(\.vector) == [[7]])
        #expect(harness.provider.requests.isEmpty)
    }

    /// `--on-error fail`: the first bad record ends the run; the records
    /// before it are computed and written, nothing after it is sent.
    @Test func underFailTheFirstBadRecordEndsTheRunAfterTheOnesBeforeIt() throws {
        let harness = Harness(onError: .fail)
        let lines = Self.json(["aa"]) + ["not json"] + Self.json(["bbb"])
        let window = try harness.stage.begin(Self.records(lines))
        let (rows, end) = try harness.stage.finish(window)
        harness.pool?.close()
        #expect(Self.written(rows) == [#"{"text":"aa"} 2.0"#])
        #expect(harness.provider.requests == [["aa"]])
        guard case .input(let location, .invalidJSON)? = end else {
            Issue.record("the run ended with \(String(describing: end))")
            return
        }
        #expect(location.line == 2)
    }

    /// A text the provider refuses is a bad record like one that is not
    /// JSON: it ends a failing run there, is left out under skip, and is
    /// a null row under null (`{}` for a line that is not an object).
    @Test(arguments: [ErrorPolicy.fail, .skip, .null])
    func aRefusedTextFollowsTheErrorPolicyLikeABadRecord(_ policy: ErrorPolicy) throws {
        let harness = Harness(onError: policy)
        let lines = Self.json(["aa", "refused"]) + ["[1]"] + Self.json(["bbb"])
        let window = try harness.stage.begin(Self.records(lines))
        let (rows, end) = try harness.stage.finish(window)
        harness.pool?.close()
        switch policy {
        case .fail:
            #expect(Self.written(rows) == [#"{"text":"aa"} 2.0"#])
            guard case .input(let location, .rejected(provider: "scripted", _))? = end else {
                Issue.record("the run ended with \(String(describing: end))")
                return
            }
            #expect(location.line == 2)
        case .skip:
            #expect(end == nil)
            #expect(Self.written(rows) == [#"{"text":"aa"} 2.0"#, #"{"text":"bbb"} 3.0"#])
        case .null:
            #expect(end == nil)
            #expect(
                Self.written(rows) == [
                    #"{"text":"aa"} 2.0"#, #"{"text":"refused"} null"#, "{} null", #"{"text":"bbb"} 3.0"#,
                ])
        }
    }

    @Test func anUnusableCachedVectorIsComputedAgainOnlyByARunThatComputes() throws {
        let store = DictionaryStore(["qq": .invalid("NaN in the vector")])
        let computing = Harness(store: store)
        let window = try computing.stage.begin(Self.records(Self.json(["qq"])))
        #expect(window.requests?.misses.map(\.replacesInvalid) == [true])
        let (rows, _) = try computing.stage.finish(window)
        computing.pool?.close()
        #expect(rows.map(\.vector) == [[2]])

        let offline = Harness(store: store, computes: false)
        let (none, end) = try offline.stage.finish(try offline.stage.begin(Self.records(Self.json(["qq"]))))
        #expect(none.isEmpty)
        guard case .input(_, .notInCache)? = end else {
            Issue.record("the run ended with \(String(describing: end))")
            return
        }
    }

    @Test func anInterruptedRunLooksUpAndSendsNothingMore() throws {
        let harness = Harness(interrupted: { true })
        #expect {
            _ = try harness.stage.begin(Self.records(Self.json(["aa"])))
        } throws: { error in
            if case .interrupted? = error as? EmbCacheError { true } else { false }
        }
        harness.pool?.close()
        #expect(harness.provider.requests.isEmpty)
    }
}
