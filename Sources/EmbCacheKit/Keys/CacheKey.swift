import Crypto
import Foundation

/// The cache key of a text: the SHA-512 digest of its exact UTF-8 bytes, the
/// 64 bytes that both embcache and the Python `embeddingcache` store as
/// `hashid`.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 64

    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    public init(text: String) {
        var text = text
        let digest = text.withUTF8 { SHA512.hash(data: UnsafeRawBufferPointer($0)) }
        words = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { target in
            digest.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }

    /// A key read back from a store; nil unless exactly 64 bytes.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        words = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    public var hex: String { withUnsafeBytes { $0.hexDigits } }

    public var description: String { hex }

    public static func == (a: CacheKey, b: CacheKey) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension Sequence<UInt8> {
    /// Two lower-case hex digits per byte: how digests are written.
    public var hexDigits: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
