import Glibc

/// `-o FILE`: written under a temporary name beside FILE and renamed over it
/// only when the run succeeds, so a failed run never leaves a half-written
/// file that make would take as up to date. A FILE that is not a regular
/// file (`/dev/null`, a FIFO, a terminal) is written to as it is: renamed
/// over, a device would be replaced by a plain file.
public final class OutputFile {
    public let path: String
    public let sink: ByteSink
    /// nil when FILE is written directly.
    private let temporaryPath: String?
    private var done = false

    public init(path: String) throws {
        self.path = path
        var existing = stat()
        if stat(path, &existing) == 0, ![S_IFREG, S_IFDIR].contains(existing.st_mode & S_IFMT) {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd < 0 { throw EmbCacheError.output(path: path, errno: errno) }
            temporaryPath = nil
            sink = ByteSink(fd: fd, name: path)
            return
        }
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw EmbCacheError.output(path: path, errno: errno) }
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        Self.takeMode(fd, replacing: path)
        sink = ByteSink(fd: fd, name: path, startsWriteback: true)
    }

    /// mkstemp makes 0600. A file that replaces another keeps its mode
    /// (a private file stays private) and, where we may set them, its owner
    /// and group; a new file gets the usual `0666 & ~umask`.
    private static func takeMode(_ fd: Int32, replacing path: String) {
        var existing = stat()
        if stat(path, &existing) == 0 && (existing.st_mode & S_IFMT) == S_IFREG {
            // Only a superuser may give a file away; anyone may keep it in
            // a group they belong to. What cannot be kept stays ours.
            if fchown(fd, existing.st_uid, existing.st_gid) != 0 { _ = fchown(fd, uid_t.max, existing.st_gid) }
            var mode = existing.st_mode & 0o777
            var made = stat()
            // The old group's rights are not handed to another group.
            if fstat(fd, &made) != 0 || made.st_gid != existing.st_gid { mode &= ~0o070 }
            fchmod(fd, mode)
            return
        }
        let mask = umask(0)
        umask(mask)
        fchmod(fd, 0o666 & ~mask)
    }

    /// Moves the finished file into place.
    public func commit() throws {
        guard !done else { return }
        done = true
        guard let temporaryPath else {
            if close(sink.fd) != 0 { throw EmbCacheError.output(path: path, errno: errno) }
            return
        }
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
        if let temporaryPath { unlink(temporaryPath) }
    }

    deinit {
        discard()
    }
}
