#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `-o FILE`: written under a temporary name beside FILE and renamed over it
/// only when the run succeeds, so a failed run never leaves a half-written
/// file that make would take as up to date.
public final class OutputFile {
    public let path: String
    public let sink: ByteSink
    private let temporaryPath: String
    private var done = false

    public init(path: String) throws {
        self.path = path
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw EmbCacheError.output(path: path, errno: errno) }
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // mkstemp makes 0600; an output file gets the usual mode.
        let mask = umask(0)
        umask(mask)
        fchmod(fd, 0o666 & ~mask)
        sink = ByteSink(fd: fd, name: path, startsWriteback: true)
    }

    /// Moves the finished file into place.
    public func commit() throws {
        guard !done else { return }
        done = true
        if fsync(sink.fd) != 0 || close(sink.fd) != 0 || rename(temporaryPath, path) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw EmbCacheError.output(path: path, errno: code)
        }
    }

    /// Removes the unfinished file.
    public func discard() {
        guard !done else { return }
        done = true
        close(sink.fd)
        unlink(temporaryPath)
    }

    deinit {
        discard()
    }
}
