import Glibc

/// Blocking I/O on raw descriptors that stays responsive to interrupts and
/// deadlines: every wait is a poll of at most a tenth of a second.
package enum FileDescriptorIO {
    package enum Failure: Error {
        case system(Int32)
        case timedOut
        case interrupted
    }

    /// Waits until `fd` is ready for `events`, or the deadline passes.
    package static func wait(_ fd: Int32, for events: Int16, deadline: ContinuousClock.Instant?) throws(Failure) {
        while true {
            if Interrupt.isRequested { throw Failure.interrupted }
            if let deadline, ContinuousClock.now >= deadline { throw Failure.timedOut }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, 100)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw Failure.system(errno) }
        }
    }

    /// Reads up to `count` bytes; 0 means end of file.
    static func readSome(
        _ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int,
        deadline: ContinuousClock.Instant? = nil
    ) throws(Failure) -> Int {
        while true {
            try wait(fd, for: Int16(POLLIN), deadline: deadline)
            let n = read(fd, buffer, count)
            if n >= 0 { return n }
            if errno == EINTR || errno == EAGAIN { continue }
            throw Failure.system(errno)
        }
    }

    /// Writes all bytes, waiting while the reader is slow.
    package static func writeAll(
        _ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadline: ContinuousClock.Instant? = nil
    ) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n >= 0 {
                offset += n
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: try wait(fd, for: Int16(POLLOUT), deadline: deadline)
            default: throw Failure.system(errno)
            }
        }
    }
}
