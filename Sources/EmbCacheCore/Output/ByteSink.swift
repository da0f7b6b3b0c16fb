import CEmbCacheSystem
import Glibc

/// Buffered writes to a descriptor. A reader that went away (EPIPE) is
/// `.brokenPipe`, which the executable treats as a quiet success.
public final class ByteSink {
    public let fd: Int32
    public let name: String
    private var buffer: [UInt8] = []
    private let capacity: Int
    /// Starts each write on its way to disk (a file, not a pipe), so the
    /// fsync at the end waits for the last megabyte, not the whole file,
    /// and does not fight the cache's last checkpoints for the disk.
    public let startsWriteback: Bool

    public init(fd: Int32, name: String, capacity: Int = 1 << 20, startsWriteback: Bool = false) {
        self.fd = fd
        self.name = name
        self.capacity = capacity
        self.startsWriteback = startsWriteback
        buffer.reserveCapacity(capacity)
    }

    public func write(_ bytes: [UInt8]) throws {
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity { return try writeThrough(bytes) }
        buffer.append(contentsOf: bytes)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity { return try writeThrough(bytes) }
        buffer.append(contentsOf: bytes)
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        try writeThrough(pending)
    }

    private func writeThrough(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeThrough($0) }
    }

    private func writeThrough(_ bytes: UnsafeRawBufferPointer) throws {
        do throws(FileDescriptorIO.Failure) {
            try FileDescriptorIO.writeAll(fd, bytes)
            if startsWriteback { _ = embc_start_writeback(fd) }
        } catch .system(let code) {
            throw code == EPIPE ? EmbCacheError.brokenPipe : EmbCacheError.output(path: name, errno: code)
        } catch {
            throw EmbCacheError.interrupted
        }
    }
}
