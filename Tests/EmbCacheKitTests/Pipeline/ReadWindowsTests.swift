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
        try Pipeline.readWindows([path], maxLineBytes: 1 << 20, decoder: decoder, size: size, bytes: bytes) {
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
}
