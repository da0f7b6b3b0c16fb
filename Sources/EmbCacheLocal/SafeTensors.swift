import EmbCacheCore
import Foundation
import Glibc

/// A `.safetensors` file: an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the raw
/// little-endian data. Only the header is read up front; a tensor's bytes
/// are read when asked for, straight into the buffer that keeps them.
public final class SafeTensors: @unchecked Sendable {
    public enum DType: String, Sendable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Offsets in the file, not in the data section.
        public var bytes: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let entries: [String: Entry]
    private let fd: Int32

    /// A header larger than this is not a model's (the real ones are tens of KB).
    static let maxHeaderBytes = 100 << 20

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EmbCacheError.configuration("\(path): \(String(cString: strerror(errno)).lowercased())")
        }
        do {
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw Self.bad(path, "cannot stat") }
            let size = Int(status.st_size)
            guard size >= 8 else { throw Self.bad(path, "truncated: \(size) bytes, shorter than the header length") }
            let lengthBytes = try Self.read(fd, path: path, offset: 0, count: 8)
            let length = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard length <= UInt64(Self.maxHeaderBytes), length >= 2 else {
                throw Self.bad(path, "not a safetensors file (header length \(length))")
            }
            guard 8 + Int(length) <= size else {
                throw Self.bad(path, "truncated: the header needs \(8 + length) bytes, the file has \(size)")
            }
            let header = try Self.read(fd, path: path, offset: 8, count: Int(length))
            self.entries = try Self.parse(header: header, dataStart: 8 + Int(length), fileSize: size, path: path)
            self.fd = fd
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    private static func bad(_ path: String, _ message: String) -> EmbCacheError {
        .configuration("\(path): \(message)")
    }

    static func parse(header: [UInt8], dataStart: Int, fileSize: Int, path: String) throws
        -> [String: Entry]
    {
        guard let object = try? JSONSerialization.jsonObject(with: Data(header)), let table = object as? [String: Any]
        else { throw bad(path, "not a safetensors file (its header is not a JSON object)") }
        var entries: [String: Entry] = [:]
        for (name, value) in table where name != "__metadata__" {
            guard let fields = value as? [String: Any], let dtypeName = fields["dtype"] as? String,
                let shapeValues = fields["shape"] as? [NSNumber], let offsets = fields["data_offsets"] as? [NSNumber],
                offsets.count == 2
            else { throw bad(path, "tensor \"\(name)\" has no dtype, shape and data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw bad(path, "tensor \"\(name)\" has dtype \(dtypeName), which embcache does not read")
            }
            let shape = shapeValues.map(\.intValue)
            let start = offsets[0].intValue
            let end = offsets[1].intValue
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 32 }), start >= 0, end >= start else {
                throw bad(path, "tensor \"\(name)\" has an invalid shape or byte range")
            }
            let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            guard !overflow, end - start == count * dtype.size else {
                throw bad(
                    path,
                    "tensor \"\(name)\" holds \(end - start) bytes, its shape \(shape) of \(dtypeName) needs \(count * dtype.size)"
                )
            }
            guard dataStart + end <= fileSize else {
                throw bad(
                    path, "truncated: tensor \"\(name)\" ends at byte \(dataStart + end), the file has \(fileSize)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, bytes: (dataStart + start)..<(dataStart + end))
        }
        return entries
    }

    /// The tensor as float32 (F32 as is; F16 and BF16 widened exactly),
    /// into memory the caller owns and must deallocate.
    public func floats(_ name: String) throws -> UnsafeMutableBufferPointer<Float> {
        guard let entry = entries[name] else { throw Self.bad(path, "no tensor \"\(name)\"") }
        let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: entry.count)
        do {
            switch entry.dtype {
            case .f32:
                try Self.read(
                    fd, path: path, offset: entry.bytes.lowerBound, into: UnsafeMutableRawBufferPointer(floats))
                for i in floats.indices { floats[i] = Float(bitPattern: UInt32(littleEndian: floats[i].bitPattern)) }
            case .f16, .bf16:
                let halves = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: entry.count)
                defer { halves.deallocate() }
                try Self.read(
                    fd, path: path, offset: entry.bytes.lowerBound, into: UnsafeMutableRawBufferPointer(halves))
                if entry.dtype == .f16 {
                    for i in halves.indices { floats[i] = floatFromHalf(UInt16(littleEndian: halves[i])) }
                } else {
                    for i in halves.indices {
                        floats[i] = Float(bitPattern: UInt32(UInt16(littleEndian: halves[i])) << 16)
                    }
                }
            default:
                throw Self.bad(path, "tensor \"\(name)\" is \(entry.dtype.rawValue), not a float tensor")
            }
        } catch {
            floats.deallocate()
            throw error
        }
        return floats
    }

    private static func read(_ fd: Int32, path: String, offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { (buffer) throws in
            try read(fd, path: path, offset: offset, into: buffer)
        }
        return bytes
    }

    private static func read(_ fd: Int32, path: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer)
        throws
    {
        var done = 0
        while done < buffer.count {
            let got = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw bad(path, String(cString: strerror(errno)).lowercased())
            }
            if got == 0 { throw bad(path, "truncated: ended at byte \(offset + done)") }
            done += got
        }
    }
}

/// IEEE 754 binary16 to binary32, exactly (subnormals, infinities, NaN).
func floatFromHalf(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = Int((half >> 10) & 0x1F)
    var mantissa = UInt32(half & 0x3FF)
    switch exponent {
    case 0:
        guard mantissa != 0 else { return Float(bitPattern: sign) }
        // Subnormal: shift until the leading 1 is the implicit bit.
        var shifted = -1
        repeat {
            mantissa <<= 1
            shifted += 1
        } while mantissa & 0x400 == 0
        mantissa &= 0x3FF
        return Float(bitPattern: sign | UInt32(127 - 15 - shifted) << 23 | mantissa << 13)
    case 31:
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }
}
