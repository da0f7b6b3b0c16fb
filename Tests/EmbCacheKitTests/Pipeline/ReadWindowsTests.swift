import Foundation
import Testing

@testable import EmbCacheCore
@testable import EmbCacheKit

@Suite struct ReadWindowsTests {
    /// The windows `readWindows` hands on for these lines, as line counts.
    static func windows(_ lines: [Int], size: Int, bytes: Int) throws -> [[Int]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "readwindows-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        defer { unlink(path) }
        let input = lines.map { String(repeating: "x", count: $0) + "\n" }.joined()
        try input.write(toFile: path, atomically: false, encoding: .utf8)
        let decoder = RecordDecoder(mode: .lines, textField: "text", outputField: nil, maxLineBytes: 1 << 20)
        var windows: [[Int]] = []
        try WindowReader.readWindows([path], maxLineBytes: 1 << 20, decoder: decoder, size: size, bytes: bytes) {
            windows.append($0.map(\.bytes.count))
            return true
        }
        return windows
    }

    @Test func aWindowEndsBeforeTheLineThatWouldTakeItOverTheBudget() throws {
        #expect(try Self.windows([4, 4, 4, 4, 4], size: 100, bytes: 10) == [[4, 4], [4, 4], [4]])
        #expect(try Self.windows([4, 6, 1, 9], size: 100, bytes: 10) == [[4, 6], [1, 9]])
    }

    @Test func aLineOverTheBudgetIsAWindowOfItsOwn() throws {
        #expect(try Self.windows([3, 50, 3, 3], size: 100, bytes: 10) == [[3], [50], [3, 3]])
        #expect(try Self.windows([5, 5, 5], size: 100, bytes: 1) == [[5], [5], [5]])
    }

    @Test func theRecordCountStillEndsAWindow() throws {
        #expect(try Self.windows([1, 1, 1, 1, 1], size: 2, bytes: 1000) == [[1, 1], [1, 1], [1]])
    }

    /// The stage on its thread: decoded windows in order, then the failure
    /// to open a later input, after the windows read before it.
    @Test func theReaderHandsOnDecodedWindowsThenTheFailure() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "windowreader-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        defer { unlink(path) }
        try (0..<5).map { "{\"text\":\"t\($0)\"}\n" }.joined().write(toFile: path, atomically: false, encoding: .utf8)
        let decoder = RecordDecoder(mode: .jsonl, textField: "text", outputField: nil, maxLineBytes: 1 << 20)
        let reader = WindowReader(
            inputs: [path, path + ".missing"], maxLineBytes: 1 << 20, decoder: decoder, size: 2, bytes: 1 << 20,
            shard: nil)
        var texts: [[String]] = []
        var failure: Error?
        while let window = reader.next() {
            switch window {
            case .success(let decoded): texts.append(decoded.records.map { (try? $0.content.get().text) ?? "" })
            case .failure(let error): failure = error
            }
        }
        reader.wait()
        #expect(texts == [["t0", "t1"], ["t2", "t3"], ["t4"]])
        #expect(failure != nil)
    }
}
