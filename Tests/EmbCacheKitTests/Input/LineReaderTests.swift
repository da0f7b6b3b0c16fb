import Foundation
import Testing

@testable import EmbCacheCore

@Suite struct LineReaderTests {
    /// Reads `bytes` through a pipe in chunks of `chunk` bytes.
    func lines(_ bytes: [UInt8], chunk: Int = 4, max: Int = 1 << 20) throws -> [Line] {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writeEnd = fds[1]
        let writer = Thread {
            bytes.withUnsafeBytes { _ = write(writeEnd, $0.baseAddress, $0.count) }
            close(writeEnd)
        }
        writer.start()
        let reader = LineReader(fd: fds[0], name: "pipe", maxLineBytes: max, closeWhenDone: true, chunkSize: chunk)
        var result: [Line] = []
        while let line = try reader.next() { result.append(line) }
        return result
    }

    @Test func splitsOnNewlineDropsCRAndKeepsALastLineWithoutNewline() throws {
        let result = try lines(Array("one\r\ntwo\n\nthree".utf8))
        #expect(result.map { String(decoding: $0.bytes, as: UTF8.self) } == ["one", "two", "", "three"])
        #expect(result.map(\.location.line) == [1, 2, 3, 4])
        #expect(result.allSatisfy { $0.location.source == "pipe" })
    }

    @Test func bytesAreNeverDecodedOrRepaired() throws {
        let invalid: [UInt8] = [0x61, 0xFF, 0xC3, 0x0A]
        #expect(try lines(invalid).first?.bytes == [0x61, 0xFF, 0xC3])
    }

    @Test func aByteOrderMarkIsSkippedOnlyAtTheStart() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let result = try lines(bom + Array("a\n".utf8) + bom + Array("b\n".utf8))
        #expect(result[0].bytes == Array("a".utf8))
        #expect(result[1].bytes == bom + Array("b".utf8))
    }

    @Test func longLinesAreReportedNotBuffered() throws {
        let long = [UInt8](repeating: 0x61, count: 100)
        let result = try lines(Array("ok\n".utf8) + long + Array("\nafter\n".utf8), chunk: 7, max: 10)
        #expect(result.count == 3)
        #expect(result[1].tooLong && result[1].bytes.isEmpty)
        #expect(result[1].location.line == 2)
        #expect(result[2].bytes == Array("after".utf8))
    }

    @Test func aLineExactlyAtTheLimitWithCRLFFits() throws {
        let result = try lines(Array("abcde\r\n".utf8), chunk: 3, max: 5)
        #expect(!result[0].tooLong)
        #expect(result[0].bytes == Array("abcde".utf8))
    }
}
