import EmbCacheCore
import Foundation

/// The reading stage: reads the inputs in windows and decodes them on a
/// thread of its own, up to two windows ahead of the stage that looks them
/// up. A failure to read comes after the windows read before it, as cat
/// writes the files before the one it can't open.
final class WindowReader: Sendable {
    /// A window's records and the bytes of input read up to its end, or
    /// the failure that ended the reading.
    typealias Window = Result<(records: [Record], end: Int), Error>

    private let decoded = BoundedQueue<Window>(capacity: 2)
    private let done = DispatchGroup()

    /// Starts reading. With `shard`, a window keeps only the records of
    /// that part (and those without a usable text, which are in every part).
    init(inputs: [String], maxLineBytes: Int, decoder: RecordDecoder, size: Int, bytes: Int, shard: Shard?) {
        done.enter()
        Thread.detachNewThread { [self] in
            do {
                try Self.readWindows(inputs, maxLineBytes: maxLineBytes, decoder: decoder, size: size, bytes: bytes) {
                    decoded.push(.success((Self.decode($0, with: decoder, shard: shard), $0.last?.end ?? 0)))
                }
            } catch {
                decoded.push(.failure(error))
            }
            decoded.close()
            done.leave()
        }
    }

    /// Waits for the next window; nil once the inputs are read.
    func next() -> Window? { decoded.pop() }

    /// The next window if it is decoded already; nil otherwise, at once.
    func nextIfDecoded() -> Window? { decoded.popIfQueued() }

    /// Reads no further windows.
    func stop() { decoded.close() }

    /// Waits for the thread to end (after `stop`, or once all is read).
    func wait() { done.wait() }

    /// Reads non-blank lines from each input in turn and hands them on in
    /// windows of at most `size` lines and `bytes` bytes (a longer line goes
    /// alone); stops early when `deliver` returns false.
    static func readWindows(
        _ inputs: [String], maxLineBytes: Int, decoder: RecordDecoder, size: Int, bytes budget: Int,
        deliver: ([Line]) -> Bool
    ) throws {
        var window: [Line] = []
        var bytes = 0
        // Bytes of the inputs before this one: a line's end counts from the first.
        var before = 0
        window.reserveCapacity(size)
        do {
            for input in inputs {
                let reader = try LineReader.open(path: input, maxLineBytes: maxLineBytes)
                var end = 0
                defer { before += end }
                while var line = try reader.next() {
                    end = line.end
                    line.end += before
                    if decoder.isBlank(line) { continue }
                    if !window.isEmpty && bytes + line.bytes.count > budget {
                        guard deliver(window) else { return }
                        window.removeAll(keepingCapacity: true)
                        bytes = 0
                    }
                    window.append(line)
                    bytes += line.bytes.count
                    if window.count == size {
                        guard deliver(window) else { return }
                        window.removeAll(keepingCapacity: true)
                        bytes = 0
                    }
                }
            }
        } catch {
            // What was read before the failure is still processed, as cat
            // writes the files before the one it can't open.
            if !window.isEmpty { _ = deliver(window) }
            throw error
        }
        if !window.isEmpty { _ = deliver(window) }
    }

    static func decode(_ lines: [Line], with decoder: RecordDecoder, shard: Shard?) -> [Record] {
        let records = lines.concurrentMap { decoder.decode($0) }
        guard let shard else { return records }
        return records.filter { record in
            guard case .success(let content) = record.content else { return true }
            return shard.contains(content.key)
        }
    }
}
