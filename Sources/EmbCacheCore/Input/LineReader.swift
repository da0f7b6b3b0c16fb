import Glibc

/// One line of input as bytes, without its line terminator.
public struct Line: Sendable {
    public var location: SourceLocation
    /// The line's bytes; empty when it was too long to keep.
    public var bytes: [UInt8]
    /// Set when the line exceeded the size limit; its bytes were dropped.
    public var tooLong: Bool
    /// Bytes of input read up to the end of this line, its terminator
    /// included: how far the run has got, for the progress line.
    public var end = 0
}

/// Splits a byte stream into lines: `\n` ends a line, a `\r` before it is
/// dropped, a last line without newline counts, and a UTF-8 byte order mark
/// at the very start is skipped. Bytes are never decoded or repaired here.
/// Lines over `maxLineBytes` are reported, not buffered, so memory stays
/// bounded whatever the input.
public final class LineReader {
    private let fd: Int32
    private let name: String
    private let maxLineBytes: Int
    private let closeWhenDone: Bool
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false
    private var lineNumber = 0
    private var current: [UInt8] = []
    private var discarding = false
    /// Bytes read from `fd` before the buffer's contents.
    private var readBefore = 0

    public init(fd: Int32, name: String, maxLineBytes: Int, closeWhenDone: Bool = false, chunkSize: Int = 1 << 20) {
        self.fd = fd
        self.name = name
        self.maxLineBytes = maxLineBytes
        self.closeWhenDone = closeWhenDone
        self.buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    /// Opens a file for reading; `-` is stdin.
    public static func open(path: String, maxLineBytes: Int) throws -> LineReader {
        if path == "-" { return LineReader(fd: STDIN_FILENO, name: "stdin", maxLineBytes: maxLineBytes) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw EmbCacheError.inputFile(path: path, errno: errno) }
        return LineReader(fd: fd, name: path, maxLineBytes: maxLineBytes, closeWhenDone: true)
    }

    deinit {
        if closeWhenDone { close(fd) }
    }

    /// The next line, or nil at the end of input.
    public func next() throws -> Line? {
        while true {
            if let newline = nextNewline() {
                var line = take(upTo: newline)
                start = newline + 1
                line.end = readBefore + start
                return line
            }
            if atEOF {
                if start == end && current.isEmpty && !discarding { return nil }
                var line = take(upTo: end)
                start = end
                line.end = readBefore + end
                return line
            }
            try fill()
        }
    }

    private func nextNewline() -> Int? {
        guard start < end else { return nil }
        return buffer.withUnsafeBytes { raw in
            guard let hit = memchr(raw.baseAddress! + start, 0x0A, end - start) else { return nil }
            return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
        }
    }

    private func take(upTo index: Int) -> Line {
        lineNumber += 1
        let location = SourceLocation(source: name, line: lineNumber)
        if discarding {
            discarding = false
            current.removeAll(keepingCapacity: false)
            return Line(location: location, bytes: [], tooLong: true)
        }
        var bytes: [UInt8]
        if current.isEmpty {
            bytes = Array(buffer[start..<index])
        } else {
            current.append(contentsOf: buffer[start..<index])
            bytes = current
            current = []
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.count > maxLineBytes { return Line(location: location, bytes: [], tooLong: true) }
        if lineNumber == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return Line(location: location, bytes: bytes, tooLong: false)
    }

    /// Moves a partial line out of the way and reads more bytes.
    private func fill() throws {
        if start < end {
            if !discarding {
                current.append(contentsOf: buffer[start..<end])
                // One extra byte allows for the `\r` of a CRLF line at the limit.
                if current.count > maxLineBytes + 1 {
                    discarding = true
                    current = []
                }
            }
        }
        readBefore += end
        start = 0
        end = 0
        let count = buffer.count
        let n: Int
        do {
            let pointer = buffer.withUnsafeMutableBytes { $0.baseAddress! }
            n = try FileDescriptorIO.readSome(fd, into: pointer, count: count)
        } catch .interrupted {
            throw EmbCacheError.interrupted
        } catch .system(let code) {
            throw EmbCacheError.inputFile(path: name, errno: code)
        } catch {
            throw EmbCacheError.inputFile(path: name, errno: ETIMEDOUT)
        }
        if n == 0 { atEOF = true } else { end = n }
    }
}
