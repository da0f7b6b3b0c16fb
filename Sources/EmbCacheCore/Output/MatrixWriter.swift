import Glibc

/// f32 and npy output: one little-endian row per record, n × d and nothing
/// else (after the .npy header). A record written as null
/// (`--on-error null`) is a row of NaN, so row i stays record i.
public final class MatrixWriter: RecordWriter {
    private let sink: ByteSink
    private let dtype: OutputDType
    private let normalize: Bool
    private let npy: NpyLayout?
    private var rowCount = 0
    private var dimension: Int?

    /// How the .npy header gets its row count, known only at the end.
    enum NpyLayout {
        /// Rewrite the header in place at this offset of a seekable file.
        case patch(offset: off_t)
        /// Rows go to an unlinked temporary file, copied out after the header.
        case spool(ByteSink)
    }

    /// `dimension` is the cache's, when known before any row: it sizes the
    /// NaN rows of records that come before the first vector.
    public init(sink: ByteSink, dtype: OutputDType, normalize: Bool, npy: Bool, dimension: Int? = nil) throws {
        self.sink = sink
        self.dimension = dimension
        self.dtype = dtype
        self.normalize = normalize
        guard npy else {
            self.npy = nil
            return
        }
        let offset = lseek(sink.fd, 0, SEEK_CUR)
        var info = stat()
        let appending = fcntl(sink.fd, F_GETFL) & O_APPEND != 0
        if offset >= 0, fstat(sink.fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, !appending {
            self.npy = .patch(offset: offset)
            try sink.write(NpyHeader.bytes(dtype: dtype, rows: 0, columns: 0))
        } else {
            self.npy = .spool(try Self.spoolFile())
        }
    }

    public func write(_ rows: [OutputRow]) throws {
        let target: ByteSink
        if case .spool(let spool) = npy { target = spool } else { target = sink }
        for row in rows {
            let values: [Float]
            if let vector = row.vector {
                values = outputVector(vector, normalize: normalize)
                if dimension == nil { dimension = values.count }
            } else {
                guard let dimension else {
                    throw EmbCacheError.usage(
                        "--on-error null with \(npy == nil ? "f32" : "npy") output needs the dimension: no earlier record had a vector"
                    )
                }
                values = [Float](repeating: .nan, count: dimension)
            }
            switch dtype {
            case .float32: try littleEndianBytes(values) { try target.write($0) }
            case .float64:
                let wide = values.map { Double($0).bitPattern.littleEndian }
                try wide.withUnsafeBytes { try target.write($0) }
            }
            rowCount += 1
        }
    }

    public func finish(dimension known: Int?) throws {
        let columns = dimension ?? known ?? 0
        switch npy {
        case nil:
            try sink.flush()
        case .patch(let offset):
            try sink.flush()
            let header = NpyHeader.bytes(dtype: dtype, rows: rowCount, columns: columns)
            let written = header.withUnsafeBytes { pwrite(sink.fd, $0.baseAddress, $0.count, offset) }
            if written != header.count { throw EmbCacheError.output(path: sink.name, errno: errno) }
        case .spool(let spool):
            try spool.flush()
            try sink.write(NpyHeader.bytes(dtype: dtype, rows: rowCount, columns: columns))
            try copy(from: spool.fd, to: sink)
            close(spool.fd)
            try sink.flush()
        }
    }

    private static func spoolFile() throws -> ByteSink {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((directory + "/embcache-npy-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw EmbCacheError.output(path: directory, errno: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return ByteSink(fd: fd, name: "temporary file in \(directory)")
    }

    private func copy(from fd: Int32, to sink: ByteSink) throws {
        lseek(fd, 0, SEEK_SET)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw EmbCacheError.output(path: "temporary file", errno: errno)
            }
            if n == 0 { return }
            try chunk.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
    }
}

/// The NumPy format 1.0 header. Always 128 bytes, so that the row count
/// can be rewritten in place once streaming is done.
enum NpyHeader {
    static let size = 128

    static func bytes(dtype: OutputDType, rows: Int, columns: Int) -> [UInt8] {
        var dictionary = "{'descr': '\(dtype.npyDescriptor)', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        let room = size - 10 - 1
        dictionary += String(repeating: " ", count: room - dictionary.utf8.count) + "\n"
        let length = UInt16(dictionary.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dictionary.utf8)
    }
}
