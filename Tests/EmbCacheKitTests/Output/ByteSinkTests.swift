import Foundation
import Testing

@testable import EmbCacheCore

@Suite struct ByteSinkTests {
    /// Starting write-back after each write changes nothing in what is
    /// written, into a file or into a pipe (where the kernel refuses it).
    @Test func writesWithWritebackKeepEveryByte() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bytesink-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out").path
        let chunk = (0..<(700 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let expected = Array(repeating: chunk, count: 5).flatMap { $0 }

        let file = try OutputFile(path: path)
        #expect(file.sink.startsWriteback)
        for _ in 0..<5 { try file.sink.write(chunk) }
        try file.sink.flush()
        try file.commit()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))

        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let readEnd = ends[0]
        let reading = Task.detached { () -> Data in
            FileHandle(fileDescriptor: readEnd, closeOnDealloc: true).readDataToEndOfFile()
        }
        let sink = ByteSink(fd: ends[1], name: "pipe", startsWriteback: true)
        for _ in 0..<5 { try sink.write(chunk) }
        try sink.flush()
        close(ends[1])
        #expect(await reading.value == Data(expected))
    }
}
