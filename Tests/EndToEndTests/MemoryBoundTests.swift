import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Memory follows the size of the records in flight, not their count
/// (issue 15, item 5): a 200 MB line once peaked at 4 GB, twenty 15 MB
/// lines at 1.75 GB.
@Suite struct MemoryBoundTests {
    /// Words of a few letters, as prose has: the hash model's features are
    /// per word and per character.
    static func words(count bytes: Int) -> [UInt8] {
        let vocabulary = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "embedding"].map {
            Array($0.utf8)
        }
        var text: [UInt8] = []
        text.reserveCapacity(bytes + 16)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        while text.count < bytes {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text.append(contentsOf: vocabulary[Int(state >> 33) % vocabulary.count])
            text.append(UInt8(ascii: " "))
        }
        return Array(text.prefix(bytes))
    }

    /// Runs the binary with stdin and stdout on /dev/null and returns its
    /// exit status, stderr and peak resident set in bytes. A child started
    /// by posix_spawn shares this process's memory until it execs, and
    /// Linux counts that memory's high-water mark in the child's
    /// ru_maxrss; so a small Python process forks (a copy of itself, not of
    /// this one) and execs the binary, and reports the rusage wait4 gives.
    static func runMeasured(_ arguments: [String], in directory: URL) throws -> (
        status: Int32, stderr: String, peak: Int
    ) {
        let stderrPath = directory.appendingPathComponent("stderr").path
        let script = """
            import os, sys
            pid = os.fork()
            if pid == 0:
                null = os.open("/dev/null", os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.dup2(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
                os.execv(sys.argv[2], sys.argv[2:])
            _, status, usage = os.wait4(pid, 0)
            print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
            """
        let result = try python(script, [stderrPath, Embcache.binary] + arguments)
        let fields = result.stdoutText.split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        guard result.status == 0, fields.count == 2 else { return (-1, result.stderrText + stderr, 0) }
        return (Int32(fields[0]), stderr, fields[1] * 1024)
    }

    /// One 32 MiB line, embedded, committed and written, peaks within six
    /// times its size above what a run of one short line takes. Before,
    /// the hash model alone held ten bytes per byte of text (the text,
    /// padded, and a table of character starts), and the line was copied
    /// four times more on its way.
    @Test func aLongLinePeaksWithinASmallMultipleOfItsSize() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "embcache-memory-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let size = 32 << 20
        let text = Self.words(count: size)
        var line = Array(#"{"id":1,"text":""#.utf8)
        line.append(contentsOf: text)
        line.append(contentsOf: Array("\"}\n".utf8))
        let long = directory.appendingPathComponent("long.jsonl")
        try Data(line).write(to: long)
        let short = directory.appendingPathComponent("short.jsonl")
        try Data(#"{"id":1,"text":"a short text"}"#.utf8 + [0x0A]).write(to: short)

        func run(_ input: URL, cache: String) throws -> (status: Int32, stderr: String, peak: Int) {
            try Self.runMeasured(
                [
                    "--model", "hash-64", "--cache-dir", directory.appendingPathComponent(cache).path,
                    "--max-line-bytes", String(40 << 20), "-o", directory.appendingPathComponent("out.jsonl").path,
                    input.path,
                ], in: directory)
        }
        let baseline = try run(short, cache: "short-cache")
        #expect(baseline.status == 0, "\(baseline.stderr)")
        let measured = try run(long, cache: "long-cache")
        #expect(measured.status == 0, "\(measured.stderr)")
        let above = measured.peak - baseline.peak
        #expect(
            above <= 6 * line.count,
            "peak \(measured.peak >> 20) MiB, \(baseline.peak >> 20) MiB for one short line: \(Double(above) / Double(line.count)) times the line"
        )

        // And the record came through whole: its bytes, then the vector.
        let output = try Data(contentsOf: directory.appendingPathComponent("out.jsonl"))
        #expect(output.count > line.count)
        #expect(output.prefix(line.count - 3) == Data(line.prefix(line.count - 3)))
        #expect(output.dropFirst(line.count - 3).starts(with: Data(#"","embedding":["#.utf8)))
        #expect(output.last == 0x0A)
    }

    /// Many medium lines under a small byte budget make many small windows;
    /// the output is the same, in the same order, as with one window.
    @Test func windowsCutByBytesKeepTheOutputAndItsOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "embcache-windowbytes-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var input: [UInt8] = []
        var texts: [[UInt8]] = []
        var state: UInt64 = 7
        for id in 0..<120 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Every fifth text repeats the one four before: hits and texts
            // the window before has in flight meet the byte cuts too.
            let text = id % 5 == 4 ? texts[id - 4] : Array("\(id) ".utf8) + Self.words(count: Int(state >> 33) % 20_000)
            texts.append(text)
            input.append(contentsOf: Array(#"{"id":\#(id),"text":""#.utf8) + text + Array("\"}\n".utf8))
        }
        let path = directory.appendingPathComponent("in.jsonl")
        try Data(input).write(to: path)

        func run(_ flags: [String], cache: String) throws -> ProcessResult {
            try Embcache.run(
                ["--model", "hash-64", "--cache-dir", directory.appendingPathComponent(cache).path, path.path]
                    + flags)
        }
        let whole = try run(["--window", "1000"], cache: "whole")
        #expect(whole.status == 0, "\(whole.stderrText)")
        let lines = whole.stdoutLines
        #expect(lines.count == 120)
        for (index, line) in lines.enumerated() { #expect(line.hasPrefix(#"{"id":\#(index),"#)) }
        for budget in ["1", "30000", "150000"] {
            let cut = try run(["--window", "1000", "--window-bytes", budget], cache: "cut-\(budget)")
            #expect(cut.status == 0, "\(cut.stderrText)")
            #expect(cut.stdout == whole.stdout, "--window-bytes \(budget)")
            // A second run answers every record from the cache it filled.
            let warm = try run(["--window-bytes", budget], cache: "cut-\(budget)")
            #expect(warm.stdout == whole.stdout, "--window-bytes \(budget), warm")
        }
    }

    @Test func windowBytesMustBePositive() throws {
        let result = try Embcache.run(["--model", "hash-8", "--window-bytes", "0"], stdin: "")
        #expect(result.status == 64)
        #expect(result.stderrText.contains("--window-bytes must be at least 1"))
    }
}
